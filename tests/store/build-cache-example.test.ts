// examples/build-cache.ts: the first run builds and caches, the second (same cache)
// hits and restores the same outputs without building; changed inputs miss again.
// Its action entries name a leaf (the manifest), so with a remote cache they travel:
// a run with another, empty cache and the same remote hits. Without --sources it
// leaves nothing beside the cache directory.
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirectory } from "../support/temp.ts";
import { memoryCache } from "./remote/servers.ts";
import { sha256Hex } from "./support.ts";

const root = tempDirectory("store-example-");
const script = join(import.meta.dir, "..", "..", "examples", "build-cache.ts");

/** Runs the example (not spawnSync: the remote cache answers from this process's event loop). */
async function run(...args: string[]): Promise<string> {
  const child = Bun.spawn([process.execPath, script, ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);
  return stdout;
}

function build(out: string, cache = "cache", ...extra: string[]) {
  mkdirSync(out, { recursive: true });
  return run("--cache", join(root, cache), "--sources", join(root, "src"), "--out", out, ...extra);
}
const outputs = (out: string) => readdirSync(out).sort().map((name) => [name, readFileSync(join(out, name), "utf8")]);

test("a second run of the build hits the cache and restores the same outputs", async () => {
  mkdirSync(join(root, "src"));
  for (const name of ["a", "b", "c"]) writeFileSync(join(root, "src", `${name}.src`), `source ${name}\nline 2\n`);
  expect(await build(join(root, "out1"))).toContain("miss: built 3 outputs and cached them");
  expect(await build(join(root, "out2"))).toContain("hit: restored 3 outputs from the cache");
  expect(outputs(join(root, "out2"))).toEqual(outputs(join(root, "out1")));
  writeFileSync(join(root, "src", "b.src"), "changed\n");
  expect(await build(join(root, "out3"))).toContain("miss: built 3 outputs");
});

test("its action entry names a leaf, so it travels: another machine's empty cache with the same remote hits", async () => {
  const { server, blobs } = memoryCache();
  try {
    const remote = `http://127.0.0.1:${server.port}`;
    const first = await build(join(root, "remote-out1"), "machine-1", "--remote", remote);
    expect(first).toContain("miss: built 3 outputs and cached them");
    expect(first).toContain("remote: 8 uploaded, 0 not uploaded, 0 failed"); // 3 sources, 3 outputs, the manifest, the action entry
    // The one action entry names an object that is on the remote: a leaf (the SHA-256 of its bytes), the manifest.
    const entries = [...blobs.keys()].filter((path) => path.startsWith("/ac/"));
    expect(entries).toHaveLength(1);
    const manifestId = new TextDecoder().decode(blobs.get(entries[0]!)!);
    const manifest = blobs.get(`/cas/${manifestId}`)!;
    expect(sha256Hex(manifest)).toBe(manifestId);
    const listed = JSON.parse(new TextDecoder().decode(manifest)) as [string, string][];
    expect(listed.map(([name]) => name)).toEqual(["a.out", "b.out", "c.out"]);
    for (const [, id] of listed) expect(blobs.has(`/cas/${id}`)).toBe(true);

    const second = await build(join(root, "remote-out2"), "machine-2", "--remote", remote);
    expect(second).toContain("hit: restored 3 outputs from the remote cache");
    expect(second).toContain("4 fetched"); // the manifest and the 3 outputs
    expect(outputs(join(root, "remote-out2"))).toEqual(outputs(join(root, "remote-out1")));
  } finally {
    server.stop(true);
  }
});

test("without --sources it compiles sources of its own in a folder it removes: nothing is left beside the cache", async () => {
  const folder = join(root, "alone");
  mkdirSync(folder);
  const out = join(root, "alone-out");
  mkdirSync(out);
  expect(await run("--cache", join(folder, "cache"), "--out", out)).toContain("miss: built 5 outputs and cached them");
  expect(await run("--cache", join(folder, "cache"), "--out", out)).toContain("hit: restored 5 outputs from the cache");
  expect(readdirSync(folder)).toEqual(["cache"]);
});
