// `bun run demo` in small: several writers, one verifying reader.
import { expect, test } from "bun:test";
import { join } from "node:path";

test("the demo's writers and reader agree on every record", async () => {
  const demo = Bun.spawn([process.execPath, join(import.meta.dir, "..", "..", "examples", "demo.ts"), "3", "2000"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(demo.stdout).text(), new Response(demo.stderr).text(), demo.exited]);
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);
  expect(stdout).toContain("verified 6,000 records from 3 writers");
});
