/**
 * `cas stats` and `cas validate` only read a store, so they open it read-only
 * (review finding 6 of issue 13 item 2). They opened it with ContentStore.open, a
 * writer's open: on a read-only mount both exited 2 with EROFS (on a store the
 * user may only read, EACCES), though ContentStore.openReadOnly reads both; and
 * on a writable store an inspection changed it (made lock files, finished a
 * rotation). Only `cas gc` writes.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../lib/index.ts";
import { withReadOnlyMount } from "../support/read-only-mount.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("cli-cas-ro-");
const bin = join(import.meta.dir, "..", "..", "bin", "mapped-file-arena.ts");

function cli(...args: string[]) {
  const result = Bun.spawnSync([process.execPath, bin, ...args], { stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function fillStore(root: string): void {
  using store = ContentStore.open(root);
  for (let i = 0; i < 10; i++) store.put(new TextEncoder().encode(`object ${i}`));
}

describe("cas stats and cas validate read the store without writing (review finding 6)", () => {
  test("on a read-only mount (EROFS) they read it, as ContentStore.openReadOnly does", async () => {
    const mountPoint = join(directory, "mount");
    const root = join(mountPoint, "cache");
    await withReadOnlyMount(
      mountPoint,
      () => fillStore(root),
      async () => {
        const stats = cli("cas", "stats", root, "--json");
        expect({ exitCode: stats.exitCode, stderr: stats.stderr }).toEqual({ exitCode: 0, stderr: "" });
        expect(JSON.parse(stats.stdout).generations.length).toBe(1);
        const validate = cli("cas", "validate", root);
        expect({ exitCode: validate.exitCode, stderr: validate.stderr }).toEqual({ exitCode: 0, stderr: "" });
        expect(validate.stdout).toContain("10 objects");
        const gc = cli("cas", "gc", root);
        expect(gc.exitCode).toBe(2); // the one command that writes
      },
    );
  });

  test("on a writable store they change nothing: an unfinished generation stays unfinished", () => {
    const root = join(directory, "writable");
    fillStore(root);
    mkdirSync(join(root, "v1.1")); // a rotator stopped after its mkdir
    expect(cli("cas", "stats", root).exitCode).toBe(0);
    expect(cli("cas", "validate", root).exitCode).toBe(0);
    expect(existsSync(join(root, "v1.1", "lock"))).toBe(false);
    expect(existsSync(join(root, "v1.1", "index.v1"))).toBe(false);
  });
});
