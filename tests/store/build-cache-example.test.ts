// examples/build-cache.ts: the first run builds and caches, the second (same cache)
// hits and restores the same outputs without building; changed inputs miss again.
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirectory } from "../support/temp.ts";

const root = tempDirectory("store-example-");
const script = join(import.meta.dir, "..", "..", "examples", "build-cache.ts");

function build(out: string) {
  mkdirSync(out, { recursive: true });
  const result = Bun.spawnSync([process.execPath, script, "--cache", join(root, "cache"), "--sources", join(root, "src"), "--out", out]);
  expect(result.stderr.toString()).toBe("");
  expect(result.exitCode).toBe(0);
  return result.stdout.toString();
}
const outputs = (out: string) => readdirSync(out).sort().map((name) => [name, readFileSync(join(out, name), "utf8")]);

test("a second run of the build hits the cache and restores the same outputs", () => {
  mkdirSync(join(root, "src"));
  for (const name of ["a", "b", "c"]) writeFileSync(join(root, "src", `${name}.src`), `source ${name}\nline 2\n`);
  expect(build(join(root, "out1"))).toContain("miss: built 3 outputs and cached them");
  expect(build(join(root, "out2"))).toContain("hit: restored 3 outputs from the cache");
  expect(outputs(join(root, "out2"))).toEqual(outputs(join(root, "out1")));
  writeFileSync(join(root, "src", "b.src"), "changed\n");
  expect(build(join(root, "out3"))).toContain("miss: built 3 outputs");
});
