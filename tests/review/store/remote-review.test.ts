// Reproductions of remote-cache defects found in review (see FINDINGS.md here).
// Each test FAILS on the current code. The misbehaving server lives in a child
// (127.0.0.1 only), which is killed after a short timeout.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";

const root = tempDirectory("review-remote-");
const child = join(import.meta.dir, "children", "misbehaving-remote.ts");

/** Runs the child with TMPDIR inside our temp root, so its spill files are ours to inspect and remove. */
function spawn(mode: string, name: string, settleMs: number) {
  const spill = join(root, `${name}-tmp`);
  mkdirSync(spill);
  const proc = Bun.spawn([process.execPath, child, mode, join(root, `${name}-store`), String(settleMs)], {
    env: { ...process.env, TMPDIR: spill },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { proc, spill };
}

const spills = (directory: string) => readdirSync(directory).filter((name) => name.startsWith("mfa-remote-"));

test("remote.get never settles on a body that never ends (per-piece timeout, no size bound): it hangs and fills TMPDIR", async () => {
  const { proc, spill } = spawn("trickle", "trickle", 10_000);
  const killer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const out = await new Response(proc.stdout).text();
  clearTimeout(killer);
  const last = JSON.parse(out.trim().split("\n").at(-1)!);
  // timeoutMs is 1000: a download that has not finished after 10 s should have been abandoned.
  expect(last.settled).toBe(true);
  expect(spills(spill)).toEqual([]);
}, 90_000);

test("a process killed during a large download leaves its mfa-remote-* spill directory in TMPDIR forever (gc does not see it)", async () => {
  const { proc, spill } = spawn("trickle", "killed", 60_000);
  // Wait (bounded) until the spill directory exists, then kill the child mid-download.
  for (let waited = 0; waited < 600 && spills(spill).length === 0; waited++) await Bun.sleep(100);
  expect(spills(spill).length).toBe(1);
  proc.kill("SIGKILL");
  await proc.exited;
  const store = ContentStore.open(join(root, "killed-store"));
  store.gc();
  store.close();
  expect(existsSync(join(spill, spills(spill)[0] ?? "none"))).toBe(false);
}, 90_000);

test("pull throws ERR_CAS_POISONED (abandoning its other workers mid-way) when the local store already maps a manifest's key to another id", async () => {
  // A minimal Bazel HTTP cache on 127.0.0.1: PUT stores, GET returns (in memory).
  const blobs = new Map<string, Uint8Array>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method === "PUT") {
        blobs.set(path, new Uint8Array(await request.arrayBuffer()));
        return new Response(null, { status: 201 });
      }
      const body = blobs.get(path);
      return body === undefined ? new Response("", { status: 404 }) : new Response(body);
    },
  });
  try {
    const remote = { url: `http://127.0.0.1:${server.port}/cache`, timeoutMs: 5000 };
    const encode = (value: string) => new TextEncoder().encode(value);
    const first = ContentStore.open(join(root, "pull-first"), { remote });
    first.actions.put("key", first.put(encode("result on machine 1")));
    await first.remote!.push();
    first.close();
    const second = ContentStore.open(join(root, "pull-second"), { remote });
    const own = second.put(encode("result on machine 2"));
    second.actions.put("key", own);
    // docs/remote.md: "a machine that already has an entry keeps its own"; nothing a remote does fails a local operation.
    const outcome = await second.remote!.pull().then(
      (report) => ({ report }),
      (error: unknown) => ({ error: String(error) }),
    );
    expect(outcome).not.toHaveProperty("error");
    expect(second.actions.get("key")).toBe(own);
    await second.flush(5000);
    second.close();
  } finally {
    server.stop(true);
  }
}, 60_000);

test("a large object whose file was damaged is uploaded as /cas/<id> with bytes that do not hash to the id, even with verifyOnRead", async () => {
  const blobs = new Map<string, Uint8Array>();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (request.method !== "PUT") return new Response("", { status: 404 });
      await gate; // holds the single upload slot, so the damage happens before the large upload starts
      blobs.set(new URL(request.url).pathname, new Uint8Array(await request.arrayBuffer()));
      return new Response(null, { status: 201 });
    },
  });
  try {
    const directory = join(root, "upload-damaged");
    const store = ContentStore.open(directory, {
      verifyOnRead: true,
      remote: { url: `http://127.0.0.1:${server.port}/cache`, timeoutMs: 10_000, concurrency: 1 },
    });
    store.put(new Uint8Array([1]));
    const id = store.put(new Uint8Array(100_000).fill(1));
    writeFileSync(join(directory, "v1.0", `leaf.${id}`), new Uint8Array(100_000).fill(2)); // same length, other bytes
    open();
    expect(await store.flush(30_000)).toBe(true);
    const sent = blobs.get(`/cache/cas/${id}`);
    // Either not uploaded, or uploaded intact: never bytes that do not hash to the name.
    if (sent !== undefined) expect(new Bun.CryptoHasher("sha256").update(sent).digest("hex")).toBe(id);
    store.close();
  } finally {
    server.stop(true);
  }
}, 60_000);
