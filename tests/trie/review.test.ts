/**
 * The findings of the adversarial review of lib/trie (FINDINGS.md at the root),
 * all fixed: each test names its finding and asserts what the library promises.
 * Every scenario runs in a child process (children/review-scenarios.ts): a crash
 * is a reported signal, not the runner's death. The tests that guard a crash
 * (F1's OOM, F2's SIGBUS, F10's unhandled rejection) or a race (F3), and F4,
 * are also run on the broken variant that undoes their fix
 * (lib/trie/broken-variants.ts), and must see it fail.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrokenTrieVariant } from "../../lib/trie/broken-variants.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("trie-review-");
const childScript = join(import.meta.dir, "children", "review-scenarios.ts");
let runs = 0;

interface ScenarioRun {
  /** The exit code, or the signal that ended the child. */
  ended: number | string;
  stderr: string;
  /** The JSON object printed last, if the child printed one. */
  report: Record<string, any> | undefined;
}

/** Runs a scenario in a child, on the real library or on a broken variant. */
async function runScenario(broken: BrokenTrieVariant, name: string, ...args: (string | number)[]): Promise<ScenarioRun> {
  const env: Record<string, string | undefined> = { ...process.env, MFA_TEST_BROKEN_TRIE: broken ?? undefined };
  // The arena bounds its own views' buffers by the file too (lib/arena/mapping.ts):
  // views over the mapping crash only with that undone as well.
  const preload: string[] = [];
  if (broken === "views-over-the-mapping") {
    env.MFA_TEST_BROKEN_ARENA = "views-past-the-file";
    preload.push("--preload", join(import.meta.dir, "..", "support", "use-broken-arena.ts"));
  }
  // A directory per run: scenarios name their files, and a second run must start afresh.
  const runDirectory = join(directory, `run-${runs++}`);
  mkdirSync(runDirectory);
  const child = Bun.spawn([process.execPath, ...preload, childScript, name, runDirectory, ...args.map(String)], { stdout: "pipe", stderr: "pipe", env });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    const last = stdout.trim().split("\n").pop();
    return { ended: child.exitCode ?? child.signalCode ?? "unknown", stderr, report: last ? JSON.parse(last) : undefined };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a scenario in a child; it must exit 0 and print one JSON object. */
async function scenario(name: string, ...args: (string | number)[]): Promise<Record<string, any>> {
  const run = await runScenario(null, name, ...args);
  if (run.ended !== 0 || run.report === undefined) throw new Error(`scenario ${name} ended with ${run.ended}: ${run.stderr}`);
  return run.report;
}

describe("findings of the review of lib/trie", () => {
  // Finding 1: trie-walk.ts copies the whole path into every frame it pushes,
  // so validate() and iteration need memory quadratic in the depth of the trie.
  test("F1: validate() and iteration of a 3072-level chain need memory linear in its depth, not quadratic", async () => {
    const report = await scenario("deep-chain-walk-memory", 3072);
    expect(report.depth).toBe(3072);
    expect(report.records).toBe(2);
    // A walk that keeps one path grows by 1-2 MB here; copying it per frame, by hundreds.
    expect(report.validateGrowthMB).toBeLessThan(32);
    expect(report.iterationGrowthMB).toBeLessThan(32);
  }, 120_000);

  // Finding 2: every view the library hands out is over the one capacity-sized
  // buffer of the mapping; a read-only opener's file may be far shorter, and
  // structuredClone (or postMessage) of a view copies its whole buffer.
  test("F2: structuredClone of a read-only trie record's data copies it, and does not kill the process (SIGBUS)", async () => {
    expect(await scenario("read-only-structured-clone", "trie")).toEqual({ copied: [9, 9, 9, 9, 9, 9, 9, 9] });
  }, 60_000);

  test("F2: structuredClone of a read-only pool block copies it, and does not kill the process (SIGBUS)", async () => {
    expect(await scenario("read-only-structured-clone", "pool")).toEqual({ copied: [9, 9, 9, 9, 9, 9, 9, 9] });
  }, 60_000);

  // Finding 3: TrieLayout's constructor takes the bump pointer (which, for a
  // read-only arena, grows the arena's view) without adopting views that cover
  // it; every later check passes on knownEnd and reads past the views.
  test("F3: a read-only opener whose file a writer grows while it opens finds every key and validates", async () => {
    const total = 3000;
    const report = await scenario("read-only-open-while-growing", total);
    expect(report).toEqual({ found: total, errors: [], validate: "ok" });
  }, 120_000);

  // Finding 4: a write through a read-only opener's view privatizes the whole
  // page (MAP_PRIVATE copy on write), and the walk reads its slots through the
  // same mapping, so that page never again shows what writers put there.
  test("F4: a read-only opener that wrote into a record's data still finds every later key and validates", async () => {
    const total = 3000;
    expect(await scenario("read-only-scribble-then-writer-inserts", total)).toEqual({ found: total, errors: [], validate: "ok" });
  }, 120_000);

  test("F4: a read-only pool that wrote into a block, or its user header, still reads the writer's later blocks", async () => {
    const clean = { wrong: 0, errors: [] };
    expect(await scenario("read-only-pool-scribble-then-writer-allocates")).toEqual({ block: clean, userHeader: clean });
  }, 60_000);

  // Finding 5: the table's end (the floor below which no node may start) comes
  // from the file's name offset, which may lie inside the kind's own header.
  test("F5: a trie table whose name sits inside its header is refused, not read as a record", async () => {
    const report = await scenario("trie-name-inside-header");
    // Either the open refuses the table, or nothing reads the header as a record.
    if (report.open === "ok") {
      expect(report.findOffset).toBe(-1);
      expect(report.validate).toBe("ArenaError ERR_ARENA_CORRUPT");
    } else {
      expect(report.open).toBe("ArenaError ERR_ARENA_CORRUPT");
    }
    expect(report.verifyExitCode).toBe(1);
  }, 60_000);

  test("F5: a data pool whose name sits inside its user header is refused, or its blocks start after the header", async () => {
    const report = await scenario("pool-name-inside-user-header");
    if (report.open === "ok") {
      expect(report.dataStart).toBeGreaterThanOrEqual(report.userHeaderEnd);
      expect(report.getInsideHeader).toBe("ArenaError ERR_ARENA_CORRUPT");
    } else {
      expect(report.open).toBe("ArenaError ERR_ARENA_CORRUPT");
    }
  }, 60_000);

  // Finding 6: precheckExisting drops its corruption verdict when the snapshot
  // ends before the bump pointer, and the arena's open then writes the header.
  test("F6: a refused writer open of a corrupt file larger than the snapshot changes no byte on disk", async () => {
    const report = await scenario("refused-open-of-large-corrupt-file");
    expect(report.open).toMatch(/^ArenaError ERR_ARENA_(CORRUPT|HEADER_MISMATCH)$/);
    expect(report.lengthAfter).toBe(report.lengthBefore);
    expect(report.changedAt).toEqual([]);
    expect(report.sharedCreated).toBe(false);
  }, 60_000);

  // Finding 7: the iterator and validate() read the next slot before checking
  // that the map is still open: a detached view throws a TypeError.
  test("F7: iteration resumed after close() is ERR_ARENA_CLOSED, not a TypeError", async () => {
    expect(await scenario("iterate-after-close")).toEqual({ next: "ArenaError ERR_ARENA_CLOSED" });
  }, 60_000);

  test("F7: validate() whose visitor closes the map is ERR_ARENA_CLOSED, not a TypeError", async () => {
    expect(await scenario("validate-visitor-closes")).toEqual({ validate: "ArenaError ERR_ARENA_CLOSED" });
  }, 60_000);

  // Finding 8: findOffsets writes -2 into offsets before it reads the group's
  // hashes: when offsets overlaps hashes, a present key is answered -1.
  test("F8: findOffsets whose offsets overlap its hashes refuses them (RangeError) or answers right", async () => {
    const report = await scenario("find-offsets-into-the-hashes-buffer");
    if (report.call === "ok") expect(report.right).toBe(true);
    else expect(report.call).toBe("RangeError");
  }, 60_000);

  // Finding 9: arguments not checked: OnDiskDataAllocator.separateBuffer's end,
  // and findOffsets' hashes when detached (a TypeError from deep inside that names nothing).
  test("F9: separateBuffer(end) refuses an end that is not a non-negative integer; findOffsets names a detached hashes", async () => {
    const report = await scenario("argument-checks");
    expect(report.nan).toMatch(/^(TypeError|RangeError)$/);
    expect(report.negative).toMatch(/^(TypeError|RangeError)$/);
    expect(report.text).toMatch(/^(TypeError|RangeError)$/);
    expect(report.fraction).toMatch(/^(TypeError|RangeError)$/);
    expect(report.detachedHashes).toMatch(/^(TypeError|RangeError): .*hashes/);
  }, 60_000);

  // Finding 10: insert's initializer and initializeUserHeader may return a
  // promise: the record is published before the data is written, and a failure
  // after the first await is an unhandled rejection that ends the process.
  test("F10: an async insert initializer or user header initializer is refused (TypeError), nothing published, the process lives", async () => {
    const report = await scenario("async-initializers");
    expect(report).toEqual({ insert: "TypeError", publishedBeforeWritten: false, poolCreate: "TypeError" });
  }, 60_000);

  // Finding 11: findChecked's and findMany's inline child check compares the
  // header with subtrieBits, also at a last level that has fewer bits.
  test("F11: a child whose header is wider than its last level is corrupt for find and findOffsets, as for validate", async () => {
    const report = await scenario("full-width-header-at-a-narrow-last-level");
    expect(report).toEqual({
      childBitsBefore: 6,
      findOffset: "ArenaError ERR_ARENA_CORRUPT",
      findOffsets: "ArenaError ERR_ARENA_CORRUPT",
      validate: "ArenaError ERR_ARENA_CORRUPT",
    });
  }, 60_000);

  // Finding 12: precheckExisting reads the arena's capacity word before it has
  // looked at the magic: any other file is "a database of capacity <junk>".
  test("F12: a file that is not a database file is refused as such (ERR_ARENA_HEADER_MISMATCH), not as too large", async () => {
    const report = await scenario("non-database-files");
    expect(report).toEqual({ plainArena: "ArenaError ERR_ARENA_HEADER_MISMATCH", randomBytes: "ArenaError ERR_ARENA_HEADER_MISMATCH" });
  }, 60_000);
});

describe("findings of the review of lib/trie, on the broken variants that undo their fixes", () => {
  test("F1 on path-per-frame (a copy of the path in every frame): the walk's memory grows past the limit", async () => {
    const { report } = await runScenario("path-per-frame", "deep-chain-walk-memory", 3072);
    expect(report?.depth).toBe(3072);
    expect(Math.max(report!.validateGrowthMB, report!.iterationGrowthMB)).toBeGreaterThanOrEqual(32);
  }, 120_000);

  test("F2 on views-over-the-mapping (views over the capacity-sized buffer): structuredClone kills the reader", async () => {
    for (const kind of ["trie", "pool"]) {
      const run = await runScenario("views-over-the-mapping", "read-only-structured-clone", kind);
      expect(run.ended).not.toBe(0);
      expect(run.report).toBeUndefined();
    }
  }, 60_000);

  test("F3 on bump-pointer-past-views (the bump pointer taken at open without views that cover it): keys missed or a false corruption", async () => {
    const total = 3000;
    const { report } = await runScenario("bump-pointer-past-views", "read-only-open-while-growing", total);
    expect(report).not.toEqual({ found: total, errors: [], validate: "ok" });
  }, 120_000);

  test("F4 on views-over-the-mapping (callers write into the pages the library reads): keys missed, blocks stale", async () => {
    const total = 3000;
    const trie = await runScenario("views-over-the-mapping", "read-only-scribble-then-writer-inserts", total);
    expect(trie.report).not.toEqual({ found: total, errors: [], validate: "ok" });
    const pool = await runScenario("views-over-the-mapping", "read-only-pool-scribble-then-writer-allocates");
    const clean = { wrong: 0, errors: [] };
    expect(pool.report?.block).not.toEqual(clean);
    expect(pool.report?.userHeader).not.toEqual(clean);
  }, 120_000);

  test("F10 on async-initializers (a promise accepted): the record is published unwritten, or the rejection ends the process", async () => {
    const run = await runScenario("async-initializers", "async-initializers");
    expect(run.ended !== 0 || run.report?.publishedBeforeWritten === true).toBe(true);
  }, 60_000);
});
