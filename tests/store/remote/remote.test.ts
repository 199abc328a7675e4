// The remote cache against a real nginx on 127.0.0.1 (WebDAV PUT), and against
// servers that misbehave: two stores in two directories stand for two machines.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { remoteTestHooks } from "../../../lib/store/remote/testing.ts";
import { tempDirectory } from "../../support/temp.ts";
import { objectBytes, sha256Hex } from "../support.ts";
import { startNginx, type Nginx } from "./nginx.ts";
import { concurrencyMeter, countingCache, fixedStatus, redirectLoop, resetMidBody, slowProxy } from "./servers.ts";

const root = tempDirectory("store-remote-");
let stores = 0;
function machine(url: string, options: Record<string, unknown> = {}): ContentStore {
  stores += 1;
  // Generous timeouts: the machine is shared and loaded; nothing here depends on speed.
  return ContentStore.open(join(root, `machine-${stores}`), { remote: { url, timeoutMs: 20_000, retryDelayMs: 5, ...options } });
}

let nginx: Nginx;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(async () => {
  await nginx?.dispose();
});

describe("two machines through nginx", () => {
  test("what one puts, the other gets: small and large objects, action entries", async () => {
    using first = machine(nginx.url);
    using second = machine(nginx.url, { memoryBufferBytes: 64 * 1024 }); // large bodies take the streaming path
    const small = objectBytes(1, 1000);
    const large = objectBytes(2, 3 * 2 ** 20);
    const smallId = first.put(small);
    const largeId = first.put(large);
    first.actions.put("compile main.c", smallId);
    expect(await first.flush()).toBe(true);
    expect(first.remoteStats()).toMatchObject({ pending: 0, uploaded: 3, uploadsFailed: 0 });
    expect(existsSync(join(nginx.root, "cas", smallId))).toBe(true);

    // get and has stay local: they never touch the network.
    expect(second.get(smallId)).toBeNull();
    expect(second.has(largeId)).toBe(false);
    expect((await second.remote!.get(smallId.toUpperCase()))!.data).toEqual(small); // ids in either case, as get takes them
    expect(await second.remote!.has(largeId)).toBe(true);
    expect(second.get(largeId)!.data).toEqual(large); // now local
    expect(await second.remote!.getAction("compile main.c")).toBe(smallId);
    expect(second.actions.get("compile main.c")).toBe(smallId);
    expect(second.remoteStats()).toMatchObject({ hits: 2, corrupt: 0, downloadsFailed: 0, uploaded: 0 });
    expect(await second.flush()).toBe(true);
    expect(second.remoteStats()!.uploaded).toBe(0); // what came from the remote is not sent back
  });

  test("a miss everywhere is null, counted as a miss", async () => {
    using store = machine(nginx.url);
    const absent = sha256Hex(objectBytes(3, 10));
    expect(await store.remote!.get(absent)).toBeNull();
    expect(await store.remote!.has(absent)).toBe(false);
    expect(await store.remote!.getAction("never put")).toBeNull();
    expect(store.remoteStats()).toMatchObject({ misses: 3, downloadsFailed: 0 });
  });

  test("content blobs are Bazel's: /cas/<sha256> holds exactly the bytes", async () => {
    using store = machine(nginx.url);
    const bytes = objectBytes(4, 5000);
    const id = store.put(bytes);
    await store.flush();
    const response = await fetch(`${nginx.url}/cas/${id}`);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    expect(sha256Hex(bytes)).toBe(id);
  });

  test("objects with refs stay local; their leaves travel", async () => {
    using store = machine(nginx.url);
    const leaf = store.put(objectBytes(5, 100));
    const node = store.put(objectBytes(6, 100), [leaf]);
    await store.flush();
    expect(existsSync(join(nginx.root, "cas", leaf))).toBe(true);
    expect(existsSync(join(nginx.root, "cas", node))).toBe(false);
  });

  for (const broken of [false, true]) {
    test(`a blob altered on the server's disk is refused by hash${broken ? " (BROKEN variant trustRemoteBytes: the test must see it)" : ""}`, async () => {
      using first = machine(nginx.url);
      using second = machine(nginx.url);
      const id = first.put(objectBytes(7 + (broken ? 100 : 0), 4000));
      await first.flush();
      const tampered = objectBytes(8 + (broken ? 100 : 0), 4000);
      writeFileSync(join(nginx.root, "cas", id), tampered);
      remoteTestHooks.trustRemoteBytes = broken;
      let result;
      try {
        result = await second.remote!.get(id);
      } finally {
        remoteTestHooks.trustRemoteBytes = false;
      }
      const stats = second.remoteStats()!;
      const refused = result === null && stats.corrupt === 1 && !second.has(sha256Hex(tampered)) && stats.hits === 0;
      expect(refused).toBe(!broken);
      if (!broken) expect(stats.lastError).toContain("do not hash to the id");
    });
  }

  test("an action entry whose body is not an id is refused", async () => {
    using store = machine(nginx.url);
    const key = "tampered action";
    writeFileSync(join(nginx.root, "ac", sha256Hex(new TextEncoder().encode(key))), "not an id at all");
    expect(await store.remote!.getAction(key)).toBeNull();
    expect(store.remoteStats()).toMatchObject({ corrupt: 1 });
  });

  test("a remote's garbage (random action bodies, a random manifest) is counted, never thrown", async () => {
    using store = machine(nginx.url);
    const random = (length: number) => crypto.getRandomValues(new Uint8Array(length));
    mkdirSync(join(nginx.root, "ac"), { recursive: true });
    mkdirSync(join(nginx.root, "cas"), { recursive: true });
    for (let index = 0; index < 20; index++) {
      const key = `garbage ${index}`;
      // Random bytes of random lengths, some of them longer than any id.
      writeFileSync(join(nginx.root, "ac", sha256Hex(new TextEncoder().encode(key))), random(index * 7));
      expect(await store.remote!.getAction(key)).toBeNull();
    }
    expect(store.remoteStats()!.corrupt + store.remoteStats()!.downloadsFailed).toBeGreaterThanOrEqual(20);
    // A manifest that is a valid blob (it hashes to its name) full of nonsense lines.
    const manifest = new TextEncoder().encode(`o nothex\na ${"f".repeat(64)}\n${Buffer.from(random(3000)).toString("latin1")}\no ${"0".repeat(64)}\n`);
    const manifestId = sha256Hex(manifest);
    writeFileSync(join(nginx.root, "cas", manifestId), manifest);
    writeFileSync(join(nginx.root, "ac", sha256Hex(new TextEncoder().encode("mapped-file-arena manifest garbage"))), manifestId);
    const report = await store.remote!.pull("garbage");
    expect(report.manifest).toBe(manifestId);
    expect(report.objects + report.actions).toBe(0);
    expect(report.failed).toBeGreaterThanOrEqual(3);
  });

  test("the server stopped mid-run: local work goes on, remoteStats says what failed", async () => {
    using store = machine(nginx.url, { maxAttempts: 3, timeoutMs: 5000 });
    const before = store.put(objectBytes(9, 200));
    expect(await store.flush()).toBe(true);
    await nginx.stop();
    try {
      const ids: string[] = [];
      for (let index = 0; index < 20; index++) ids.push(store.put(objectBytes(10 + index, 300)));
      for (const id of ids) expect(store.get(id)).not.toBeNull();
      expect(await store.flush()).toBe(false); // retries end, nothing hangs, and flush says the uploads did not get there
      const stats = store.remoteStats()!;
      expect(stats).toMatchObject({ pending: 0, uploaded: 1, uploadsFailed: 20 });
      expect(stats.uploadRetries).toBe(40);
      expect(stats.networkErrors).toBe(60);
      expect(stats.lastError).not.toBeNull();
      expect(await store.remote!.get(sha256Hex(objectBytes(99, 10)))).toBeNull();
      expect(store.remoteStats()!.downloadsFailed).toBe(1);
      expect(store.get(before)).not.toBeNull();
    } finally {
      await nginx.start();
    }
    // Back up: the same store uploads again.
    const after = store.put(objectBytes(40, 200));
    await store.flush();
    expect(store.remoteStats()!.uploaded).toBe(2);
    expect(existsSync(join(nginx.root, "cas", after))).toBe(true);
  });
});

describe("https", () => {
  test("through Bun's fetch: a certificate from options.remote.ca is trusted, an unknown one refused", async () => {
    const secure = await startNginx({ tls: true });
    try {
      using first = machine(secure.url, { ca: secure.ca });
      using second = machine(secure.url, { ca: secure.ca });
      using untrusting = machine(secure.url, { maxAttempts: 1 });
      const bytes = objectBytes(700, 100_000);
      const id = first.put(bytes);
      expect(await first.flush()).toBe(true);
      expect(first.remoteStats()).toMatchObject({ uploaded: 1, uploadsFailed: 0 });
      expect((await second.remote!.get(id))!.data).toEqual(bytes);
      expect(await untrusting.remote!.get(id)).toBeNull();
      expect(untrusting.remoteStats()).toMatchObject({ downloadsFailed: 1, networkErrors: 1 });
    } finally {
      await secure.dispose();
    }
  });
});

describe("cas push | pull", () => {
  const bin = join(import.meta.dir, "..", "..", "..", "bin", "mapped-file-arena.ts");
  async function cli(...args: string[]) {
    const child = Bun.spawn([process.execPath, bin, ...args], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    return { exitCode: await child.exited, stdout, stderr };
  }

  test("a whole store pushed from one machine is pulled by another", async () => {
    const from = join(root, "push-from");
    const to = join(root, "pull-to");
    const ids: string[] = [];
    {
      using store = ContentStore.open(from);
      for (let index = 0; index < 50; index++) ids.push(store.put(objectBytes(500 + index, index === 0 ? 200_000 : 500)));
      store.put(objectBytes(600, 10), [ids[1]!]); // a node: stays local
      store.actions.put("step one", ids[2]!);
    }
    const pushed = await cli("cas", "push", from, "--remote", nginx.url, "--name", "nightly", "--json");
    expect(pushed.stderr).toBe("");
    expect(pushed.exitCode).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ objects: 50, actions: 1, failed: 0 });
    const pulled = await cli("cas", "pull", to, "--remote", nginx.url, "--name", "nightly");
    expect(pulled.stderr).toBe("");
    expect(pulled.stdout).toContain("pulled 50 objects and 1 action entries");
    using store = ContentStore.open(to);
    for (const [index, id] of ids.entries()) expect(store.get(id)!.data).toEqual(objectBytes(500 + index, index === 0 ? 200_000 : 500));
    expect(store.actions.get("step one")).toBe(ids[2]!);
  });

  test("pull of a name never pushed, and a missing --remote, exit 2 with a reason", async () => {
    const missing = await cli("cas", "pull", join(root, "pull-none"), "--remote", nginx.url, "--name", "never");
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('no manifest named "never"');
    const usage = await cli("cas", "push", root);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain("--remote URL");
  });
});

describe("servers that misbehave", () => {
  test("a slow server hits the timeout without hanging the store", async () => {
    const proxy = slowProxy(nginx.url, 60_000);
    try {
      using store = machine(`http://127.0.0.1:${proxy.port}/cache`, { timeoutMs: 300, maxAttempts: 2 });
      const started = Date.now();
      // Requests started together share one deadline (deadlines.ts): every one of them ends.
      const pending = [52, 53, 54].map((seed) => store.remote!.get(sha256Hex(objectBytes(seed, 10))));
      // While the requests wait, local work goes on.
      const id = store.put(objectBytes(51, 100));
      expect(store.get(id)).not.toBeNull();
      expect(await Promise.all(pending)).toEqual([null, null, null]);
      expect(await store.flush()).toBe(false); // the upload timed out: not on the remote
      expect(Date.now() - started).toBeLessThan(50_000); // far below the server's 60 s
      expect(store.remoteStats()).toMatchObject({ downloadsFailed: 3, uploadsFailed: 1, uploadRetries: 1, timeouts: 5 });
      expect(store.remoteStats()!.lastError).toContain("no answer within 300 ms");
    } finally {
      proxy.stop(true);
    }
  });

  test("a process that is done with its store exits at once, whatever its remote's timeoutMs (deadline timers do not hold it)", async () => {
    const child = Bun.spawn([process.execPath, join(import.meta.dir, "..", "children", "remote-exit.ts"), nginx.url, join(root, "exiting")], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 100_000); // the child's timeoutMs is 120 s
    const reader = child.stdout.getReader();
    const line = new TextDecoder().decode((await reader.read()).value);
    const printed = Date.now();
    await child.exited;
    clearTimeout(killer);
    expect(JSON.parse(line)).toEqual({ missed: true, flushed: true });
    expect(child.signalCode).toBeNull(); // not killed: it ended on its own
    expect(Date.now() - printed).toBeLessThan(60_000); // seconds at most on a loaded machine; 120 s if a timer held it
  }, 120_000);

  test("a reset in the middle of a body is a failed download, not an error", async () => {
    for (const declared of [4096, 3 * 2 ** 20]) {
      const { server, port } = await resetMidBody(declared, 1000);
      try {
        using store = machine(`http://127.0.0.1:${port}`, { memoryBufferBytes: 64 * 1024 });
        expect(await store.remote!.get(sha256Hex(objectBytes(60, 10)))).toBeNull();
        expect(store.remoteStats()).toMatchObject({ downloadsFailed: 1, hits: 0, networkErrors: 1 });
      } finally {
        server.close();
      }
    }
  });

  test("a redirect loop is not followed", async () => {
    const server = redirectLoop();
    try {
      using store = machine(`http://127.0.0.1:${server.port}`);
      expect(await store.remote!.get(sha256Hex(objectBytes(70, 10)))).toBeNull();
      store.put(objectBytes(71, 10));
      expect(await store.flush()).toBe(false); // a redirect is a failed upload
      expect(store.remoteStats()).toMatchObject({ redirects: 2, downloadsFailed: 1, uploadsFailed: 1, uploadRetries: 0 });
    } finally {
      server.stop(true);
    }
  });

  test("5xx is retried with backoff, then given up; the auth header is sent with every PUT and GET", async () => {
    const { server, seen } = fixedStatus(503);
    try {
      using store = machine(`http://127.0.0.1:${server.port}`, { maxAttempts: 3, headers: { authorization: "Bearer secret" } });
      const id = store.put(objectBytes(80, 10));
      expect(await store.flush()).toBe(false); // given up after its retries
      expect(store.remoteStats()).toMatchObject({ uploadsFailed: 1, uploadRetries: 2, serverErrors: 3 });
      const absent = sha256Hex(objectBytes(81, 10));
      expect(await store.remote!.get(absent)).toBeNull();
      expect(seen.map((request) => `${request.method} ${request.path}`)).toEqual([...Array(3).fill(`PUT /cas/${id}`), `GET /cas/${absent}`]);
      expect(seen.every((request) => request.headers.get("authorization") === "Bearer secret")).toBe(true);
    } finally {
      server.stop(true);
    }
  });

  for (const broken of [false, true]) {
    test(`two callers asking for one id share one request, and each owns its bytes${broken ? " (BROKEN variant noSharedDownloads: the test must see it)" : ""}`, async () => {
      const blob = objectBytes(85 + (broken ? 1 : 0), 3000);
      const id = sha256Hex(blob);
      const { server, counts } = countingCache(new Map([[id, blob]]));
      remoteTestHooks.noSharedDownloads = broken;
      try {
        using store = machine(`http://127.0.0.1:${server.port}`);
        // Both calls are made before either awaits: the second finds the first's request in flight.
        const [first, second] = await Promise.all([store.remote!.get(id), store.remote!.get(id)]);
        expect(first!.data).toEqual(blob);
        expect(second!.data).toEqual(blob);
        first!.data[0] = first!.data[0]! ^ 0xff;
        expect(second!.data).toEqual(blob);
        expect(await store.remote!.get(id)).not.toBeNull(); // local now: no third request
        expect(counts.gets === 1).toBe(!broken);
      } finally {
        remoteTestHooks.noSharedDownloads = false;
        server.stop(true);
      }
    });
  }

  test("uploads go out at most `concurrency` at once; past maxPending a put is not queued", async () => {
    const { server, meter } = concurrencyMeter(20);
    try {
      using store = machine(`http://127.0.0.1:${server.port}`, { concurrency: 3, maxPending: 30 });
      for (let index = 0; index < 40; index++) store.put(objectBytes(90 + index, 50));
      expect(store.remoteStats()).toMatchObject({ pending: 30, uploadsDropped: 10 });
      expect(await store.flush()).toBe(true);
      expect(meter.puts).toBe(30);
      expect(meter.most).toBe(3);
    } finally {
      server.stop(true);
    }
  });

  test("close() abandons pending uploads (counted); closeAsync() waits for them", async () => {
    const { server, meter } = concurrencyMeter(10);
    try {
      const waiting = machine(`http://127.0.0.1:${server.port}`);
      for (let index = 0; index < 5; index++) waiting.put(objectBytes(200 + index, 50));
      await waiting.closeAsync();
      expect(meter.puts).toBe(5);
      const abandoning = machine(`http://127.0.0.1:${server.port}`);
      for (let index = 0; index < 5; index++) abandoning.put(objectBytes(300 + index, 50));
      const stats = abandoning.remoteStats()!;
      abandoning.close();
      expect(stats.pending).toBe(5);
      expect(abandoning.remote!.stats()).toMatchObject({ pending: 0, uploadsAbandoned: 5 });
    } finally {
      server.stop(true);
    }
  });
});

describe("options", () => {
  test("a wrong remote option is a TypeError or RangeError naming it, before anything is opened", () => {
    const directory = join(root, "never-made");
    const open = (remote: unknown) => () => ContentStore.open(directory, { remote: remote as never });
    expect(open("http://x")).toThrow(TypeError);
    expect(open({})).toThrow(/options\.remote\.url/);
    expect(open({ url: "ftp://127.0.0.1/" })).toThrow(RangeError);
    expect(open({ url: "not a url" })).toThrow(/options\.remote\.url/);
    expect(open({ url: "http://127.0.0.1/", timeoutMs: 0 })).toThrow(/options\.remote\.timeoutMs/);
    expect(open({ url: "http://127.0.0.1/", headers: { a: 1 } })).toThrow(TypeError);
    expect(existsSync(directory)).toBe(false);
  });

  test("without a remote, flush resolves and remoteStats is null", async () => {
    using store = ContentStore.open(join(root, "local-only"));
    expect(store.remote).toBeNull();
    expect(store.remoteStats()).toBeNull();
    expect(await store.flush()).toBe(true);
    expect(readdirSync(join(root, "local-only")).length).toBeGreaterThan(0);
  });
});
