/**
 * Review of issue 13 item 2 (read-only opens), the content store: a store whose
 * newest generation is not finished yet, as a rotating writer leaves it for a
 * moment (mkdir, then the lock file, then each table file, then each table's
 * header) and as a rotator killed in between leaves it for good.
 *
 * A writer's open finishes such a generation (generations.ts makes the lock
 * file "if missing", the arena creates an empty table afresh). A reader cannot,
 * and today it does not fall back to the finished generation before it either:
 * openReadOnly, and every get/has of an open reader that follows a rotation,
 * throw ERR_CAS_BUSY ("they kept being removed"), ENOENT, or ERR_CAS_CORRUPT
 * ("... is empty"), on a healthy store whose objects are all readable.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { finished, spawnChild } from "../../support/processes.ts";
import { tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("review-ro-store-");
let stores = 0;

/** A closed store holding one object in v1.0; returns the store's folder and the object's id. */
function storeWithOneObject(): { root: string; id: string; bytes: Uint8Array } {
  const root = join(directory, `store-${++stores}`);
  const bytes = new TextEncoder().encode("shipped with the cache");
  using store = ContentStore.open(root);
  return { root, id: store.put(bytes), bytes };
}

/** What openReadOnly + get give: the bytes, or the error code. */
function readBack(root: string, id: string): string {
  try {
    using store = ContentStore.openReadOnly(root);
    const found = store.get(id);
    return found === null ? "absent" : new TextDecoder().decode(found.data);
  } catch (error) {
    return `threw ${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
}

describe("a store whose newest generation is not finished", () => {
  test("control: a writer's open reads the object (it finishes the generation)", () => {
    const { root, id } = storeWithOneObject();
    mkdirSync(join(root, "v1.1"));
    using store = ContentStore.open(root);
    expect(store.get(id) !== null).toBe(true);
  });

  test("newest generation only made (mkdir): openReadOnly still reads v1.0's objects", () => {
    const { root, id } = storeWithOneObject();
    // What a rotator leaves when it is killed between mkdir and its first open
    // (generations.ts: startNextGeneration, then #follow's openNewest).
    mkdirSync(join(root, "v1.1"));
    expect(readBack(root, id)).toBe("shipped with the cache");
  });

  test("newest generation has its lock file but no tables yet: openReadOnly still reads v1.0's objects", () => {
    const { root, id } = storeWithOneObject();
    mkdirSync(join(root, "v1.1"));
    writeFileSync(join(root, "v1.1", "lock"), "");
    expect(readBack(root, id)).toBe("shipped with the cache");
  });

  test("newest generation's index file created but still empty: not ERR_CAS_CORRUPT, v1.0 still read", () => {
    const { root, id } = storeWithOneObject();
    mkdirSync(join(root, "v1.1"));
    writeFileSync(join(root, "v1.1", "lock"), "");
    // open(O_CREAT) done, the arena's header not written yet (or its creator died:
    // "a failed creation leaves an empty file, so the next opener creates it afresh").
    writeFileSync(join(root, "v1.1", "index.v1"), "");
    expect(readBack(root, id)).toBe("shipped with the cache");
  });
});

describe("a read-only store beside a writer that rotates", () => {
  test("every openReadOnly, has and get succeeds while generations come and go", async () => {
    const { root } = storeWithOneObject();
    const writer = spawnChild("../../review/read-only/children/rotating-writer.ts", [root, 8000]);
    const reader = spawnChild("../../review/read-only/children/read-only-store-loop.ts", [root, 6000]);
    const [writerResult, readerResult] = await Promise.all([finished(writer), finished(reader)]);
    expect(writerResult.exitCode).toBe(0);
    expect(readerResult.exitCode).toBe(0);
    const report = JSON.parse(readerResult.stdout.trim().split("\n").pop()!);
    // The writer rotated many times meanwhile (otherwise the test proves nothing).
    expect(JSON.parse(writerResult.stdout.trim()).puts).toBeGreaterThan(3000);
    expect(report.opens).toBeGreaterThan(0);
    expect(report.errors).toEqual({});
  }, 60_000);
});
