/**
 * The second adversarial review of lib/trie (FINDINGS.md at the root): the code
 * that landed with the fixes of the first (find's quick walk, read-only handout
 * views over a second mapping, the pread pre-open check, the walk's shared
 * path). The tests named "R2-n" are defects and fail until fixed; the others
 * are attacks that held, kept as regression tests. Every scenario runs in a
 * child process (children/review2-scenarios.ts): a crash is a reported signal,
 * not the runner's death.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("trie-review2-");
const childScript = join(import.meta.dir, "children", "review2-scenarios.ts");
let runs = 0;

/** Runs a scenario in a child; it must exit 0 and print one JSON object, which is returned. */
async function scenario(name: string): Promise<Record<string, any>> {
  const runDirectory = join(directory, `run-${runs++}`);
  mkdirSync(runDirectory);
  const child = Bun.spawn([process.execPath, childScript, name, runDirectory], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 100_000);
  try {
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    const last = stdout.trim().split("\n").pop();
    const ended = child.exitCode ?? child.signalCode;
    if (ended !== 0 || !last) throw new Error(`scenario ${name} ended with ${ended}: ${stderr}`);
    return JSON.parse(last);
  } finally {
    clearTimeout(timer);
  }
}

describe("defects found by the second review of lib/trie", () => {
  // R2-1: the root subtrie is judged only by the map's constructor
  // (storedRoot/adoptRoot), after DatabaseFile.open has opened the arena, which
  // refreshes the header's allocatedSize word and creates PATH.shared.
  test("R2-1: a refused writer open of a trie whose root subtrie is corrupt changes no byte on disk and creates no PATH.shared", async () => {
    const report = await scenario("refused-open-corrupt-root");
    for (const [corruption, result] of Object.entries(report)) {
      expect({ corruption, ...result }).toEqual({ corruption, open: "ArenaError ERR_ARENA_CORRUPT", changedAt: [], sharedCreated: false });
    }
  }, 120_000);

  // R2-2: handoutView compares only the view's own bytes with the library's;
  // a page of the handout mapping the caller wrote through another view is a
  // private copy, and a view of untouched bytes on it is handed out frozen.
  test("R2-2: a read-only view made after a caller wrote elsewhere on its page follows a writer's later update", async () => {
    const report = await scenario("neighbour-of-a-written-page");
    expect(report.samePage).toBe(true);
    expect(report.askedAgain).toBe(42);
    expect(report.viewMadeAfter).toBe(42);
  }, 60_000);

  // R2-3: R2-2's cause reaches the content store, with no compare at all: a
  // read-only store's view() is over pool.separateBuffer, the same handout
  // mapping its callers' views privatize pages of.
  test("R2-3: a read-only content store's view() of an object put after a caller wrote into another object's view shows its bytes", async () => {
    const report = await scenario("store-view-after-caller-write");
    expect(report.samePage).toBe(true);
    expect(report.get).toEqual([2, 2, 2, 2]);
    expect(report.view).toEqual([2, 2, 2, 2]);
    expect(report.verifiedView).toEqual([2, 2, 2, 2]);
  }, 60_000);

  // R2-4 (low): the key's word view (findQuick, findChecked) comes from the
  // key's own byteOffset getter, the walk from its indexed elements.
  test("R2-4: find answers the same for a Uint8Array subclass key as for a plain copy of its elements, on every call", async () => {
    const report = await scenario("key-subclass-lies-about-byte-offset");
    expect(report.copy).toBe(-1);
    expect(report.answers).toEqual([-1, -1, -1]);
  }, 60_000);
});

describe("attacks of the second review of lib/trie that held", () => {
  test("find's quick walk (a reused key array: aligned, unaligned, resizable, shared) agrees with the checked walk at every depth, quickWalk on and off, writer and read-only", async () => {
    expect(await scenario("quick-walk-agrees")).toEqual({ disagreements: [] });
  }, 120_000);

  test("read-only handout mappings: 20 opens past the 64 fresh mappings each leave no mapping in /proc/self/maps; views keep file offsets and read empty after close", async () => {
    const report = await scenario("handout-mappings-do-not-leak");
    expect(report.offsetsAreFileOffsets).toBe(true);
    expect(report.emptyAfterClose).toBe(true);
    // One mapping kept per open would add 20 lines, the 66 of each open 1320; the heap may add a few.
    expect(report.growth).toBeLessThan(20);
  }, 120_000);

  test("validate() and iteration catch a record's hash changed at any of its 256 bits at depth 42; two interleaved iterators agree", async () => {
    expect(await scenario("check-prefix-at-every-depth")).toEqual({ depth: 42, records: 302, interleavedSame: true, undetected: [] });
  }, 120_000);
});
