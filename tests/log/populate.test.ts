// The shim's madvise (MADV_POPULATE_WRITE), which bench/page-faults.ts measures
// as a way to pre-fault a log's blocks: what it returns, and that it neither
// changes the bytes nor crashes on an address the kernel would refuse.
import { expect, test } from "bun:test";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { spawnLogChild } from "./support/children.ts";

const directory = tempDirectory("log-populate-");

test.skipIf(process.platform !== "linux")("populateMapping: 0 on a page-aligned view, EINVAL (22) on a misaligned one, bytes kept", async () => {
  const child = spawnLogChild("populate.ts", [freshPath(directory, "arena")]);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);
  const result = JSON.parse(stdout);
  // 22 too on a kernel before 5.14 (no such advice): then both calls say so.
  expect([0, 22]).toContain(result.aligned);
  expect(result.misaligned).toBe(22);
  expect(result.readBack).toBe(42);
});
