/**
 * Issue 13 item 2 for the content store: ContentStore.openReadOnly gets, has,
 * actions.get and validates; put, actions.put and gc throw ERR_ARENA_READ_ONLY;
 * an object only in the older generation is read from there and nothing is
 * copied forward: the directory does not change, also on a read-only mount. The
 * reader runs in a child (children/read-only-reader.ts), so a crash is a
 * reported signal. The writer-close race and its broken variant are the arena's
 * (tests/arena/read-only.test.ts).
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ContentStore, RecordLog } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { expectSameFiles, snapshot } from "../support/file-snapshot.ts";
import { asOtherUserPrefix, finished, type ChildResult } from "../support/processes.ts";
import { withReadOnlyMount } from "../support/read-only-mount.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes } from "./read-only-objects.ts";

const directory = tempDirectory("store-read-only-");
let stores = 0;

/** A closed store of `count` objects of `size` bytes, and an action for each. */
function makeStore(root: string, count: number, size: number, maxBytes?: number): void {
  using store = ContentStore.open(root, maxBytes === undefined ? {} : { maxBytes });
  for (let i = 0; i < count; i++) store.actions.put(`action ${i}`, store.put(objectBytes(i, size)));
}

async function runReader(root: string, count: number, size: number, steps: string[], asUser: string[] = []): Promise<Record<string, any>> {
  const child = Bun.spawn([...asUser, process.execPath, join(import.meta.dir, "children", "read-only-reader.ts"), root, String(count), String(size), ...steps], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  let result: ChildResult;
  try {
    result = await finished(child);
  } finally {
    clearTimeout(timer);
  }
  if (result.exitCode !== 0) throw new Error(`reader failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

const allRefused = { put: "ERR_ARENA_READ_ONLY", actionsPut: "ERR_ARENA_READ_ONLY", gc: "ERR_ARENA_READ_ONLY" };
const everything = ["open", "read", "refuse", "close"];

describe("ContentStore.openReadOnly", () => {
  test("get, has, actions.get and validate see everything; put, actions.put and gc refuse; no file changes", async () => {
    const root = join(directory, `store-${++stores}`);
    makeStore(root, 300, 100);
    const before = snapshot(root);
    const report = await runReader(root, 300, 100, everything);
    expect(report).toMatchObject({ readOnly: true, got: 300, has: 300, actions: 300, valid: true, refused: allRefused });
    expectSameFiles(before, snapshot(root));
  });

  test("objects and actions only in the older generation are read from there, and nothing is copied forward", async () => {
    // 40 objects of 1 MiB (large-object files) take a 32 MiB store past its
    // 12 MiB per generation: it rotates, and the first objects are upstream only.
    const root = join(directory, `store-${++stores}`);
    makeStore(root, 40, 1024 * 1024, 32 * 1024 * 1024);
    const before = snapshot(root);
    const report = await runReader(root, 40, 1024 * 1024, everything);
    // generations: the large-object bytes of the primary, then of the upstream.
    expect(report.generations.length).toBe(2);
    expect(report).toMatchObject({ readOnly: true, valid: true, refused: allRefused });
    // The objects of generations gc had already removed are gone for every reader;
    // more were found than the primary holds: the rest came from the upstream.
    expect(report.got * 1024 * 1024).toBeGreaterThan(report.generations[0]);
    expect(report.generations[1]).toBeGreaterThan(0);
    expect(report.has).toBe(report.got);
    expect(report.actions).toBe(report.got);
    expectSameFiles(before, snapshot(root));
  });

  test("a directory that is not a store is refused, and nothing is created in it", () => {
    const missing = join(directory, "no-store-here");
    expectArenaError(() => ContentStore.openReadOnly(missing), "ENOENT");
    expect(() => ContentStore.openReadOnly(missing, null as unknown as {})).toThrow(TypeError);
    expect(() => statSync(missing)).toThrow();
  });

  test("the refusal says what is there: no directory yet, a directory with no store, one of the library's files (and what creates a store)", () => {
    const missing = join(directory, "not-made-yet");
    const creates = "a writer creates it with ContentStore.open(directory) (openReadOnly never creates one)";
    expect(expectArenaError(() => ContentStore.openReadOnly(missing), "ENOENT").message).toBe(
      `${missing} does not exist: no content store has been created there yet; ${creates}`,
    );
    const empty = join(directory, "empty-folder");
    mkdirSync(empty);
    expect(expectArenaError(() => ContentStore.openReadOnly(empty), "ENOENT").message).toBe(
      `${empty} holds no content store (it has no lock file); a writer creates one with ContentStore.open(directory) (openReadOnly never creates one)`,
    );
    const folder = join(directory, "not-a-store");
    mkdirSync(folder);
    const log = join(folder, "a-log");
    RecordLog.open(log, { capacity: 1024 * 1024 }).close();
    const before = snapshot(folder);
    for (const open of [() => ContentStore.openReadOnly(log), () => ContentStore.open(log)]) {
      expect(expectArenaError(open, "ENOTDIR").message).toBe(`${log} is not a directory: a content store is a directory (of generations), and ${log} is a record log (RecordLog)`);
    }
    expectSameFiles(before, snapshot(folder));
  });

  test("on a read-only mount (EROFS)", async () => {
    const root = join(directory, "ro-mount");
    const store = join(root, "cache");
    await withReadOnlyMount(root, () => makeStore(store, 200, 100), async () => {
      // (A writer's open fails there with node:fs's EROFS error, not an ArenaError.)
      const report = await runReader(store, 200, 100, ["create", ...everything]);
      expect(report).toMatchObject({ create: "EROFS", readOnly: true, got: 200, has: 200, actions: 200, valid: true, refused: allRefused });
    });
  });

  test("a store the user may only read (EACCES), as nobody", async () => {
    // Root may write anything: then the reader runs as nobody (setpriv, util-linux).
    const root = join(directory, `store-${++stores}`);
    makeStore(root, 100, 100);
    const before = snapshot(root);
    chmodSync(directory, 0o755);
    chmodTree(root, 0o555, 0o444);
    const asUser = asOtherUserPrefix();
    try {
      const report = await runReader(root, 100, 100, ["create", ...everything], asUser);
      expect(report).toMatchObject({ create: "EACCES", readOnly: true, got: 100, has: 100, actions: 100, valid: true, refused: allRefused });
      expectSameFiles(before, snapshot(root));
    } finally {
      chmodTree(root, 0o755, 0o644); // so the temp folder can be removed
    }
  });
});

/** Sets every folder under `root` (and root) to `folderMode`, every file to `fileMode`. */
function chmodTree(root: string, folderMode: number, fileMode: number): void {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (statSync(path).isDirectory()) chmodTree(path, folderMode, fileMode);
    else chmodSync(path, fileMode);
  }
  chmodSync(root, folderMode);
}
