/**
 * Review 4, own-files.ts across threads.
 *
 * docs/guarantees.md (Limits) and docs/arena.md: "a PATH.shared that is ... the
 * lock file of an arena this process has open is an ERR_ARENA_NOT_A_FILE, never a
 * hang". own-files.ts keeps that registry per thread (module state: each Worker
 * has its own), so only the thread that opened the arena is refused at once; a
 * Worker of the same process that calls create() on that lock file waits for the
 * main lock of a file this process holds shared (PATH.shared's flock), i.e.
 * until the other thread closes its arena, which may be never. When it does, the
 * Worker turns the lock file into an arena.
 *
 * Runs in a child (children/lock-file-other-thread-child.ts), which closes the
 * arena and exits whatever the Worker does.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { lastJson as lastJsonLine, runBun } from "../../support/isolated-runs.ts";
import { tempDirectory } from "../../support/temp.ts";
import { lastJson, runReviewChild } from "./run-child.ts";

const directory = tempDirectory("mfa-review4-lockfile-thread-");
const controlDirectory = tempDirectory("mfa-review4-lockfile-control-");

// Expected: {sameThread: ERR_ARENA_NOT_A_FILE, worker: ERR_ARENA_NOT_A_FILE}.
// Observed: the Worker gives no answer within 15 s: it is blocked in create()
// until the main thread closes x.arena (then it creates an arena in x.arena.shared).
test("create() of an open arena's PATH.shared from a Worker of the same process is ERR_ARENA_NOT_A_FILE, not a hang (review 4 #8)", async () => {
  const result = await runReviewChild("lock-file-other-thread-child.ts", [directory, 15_000]);
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(lastJson(result)).toEqual({ sameThread: "ERR_ARENA_NOT_A_FILE", worker: "ERR_ARENA_NOT_A_FILE" });
}, 90_000);

// The control: when holders do not mark their lock files (broken variant
// "no-lock-file-marker", on in the child's main thread, which holds the lock
// file), the Worker waits: the test above can fail.
test("control: without the lock-file marker (broken variant) the Worker's create() waits", async () => {
  const child = join(import.meta.dir, "children", "lock-file-other-thread-child.ts");
  const result = await runBun(child, [controlDirectory, 2_000], 60_000, "no-lock-file-marker");
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(lastJsonLine(result.stdout)).toEqual({ sameThread: "ERR_ARENA_NOT_A_FILE", worker: "no answer" });
}, 90_000);
