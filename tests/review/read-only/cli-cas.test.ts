/**
 * Review of issue 13 item 2 (read-only opens): the CLI's read-only commands on
 * a store that can only be read.
 *
 * `inspect` and `verify` read an arena, a database file or a log on a read-only
 * mount (checked: they pass). But `cas stats` and `cas validate`, which only
 * read, open the store with ContentStore.open (lib/cli/cas.ts), a writer's open:
 * on a read-only mount they fail with EROFS, and on a store the user may only
 * read with EACCES, though ContentStore.openReadOnly reads both.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { withReadOnlyMount } from "../../support/read-only-mount.ts";
import { tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("review-ro-cli-");
const bin = join(import.meta.dir, "..", "..", "..", "bin", "mapped-file-arena.ts");

function cli(...args: string[]) {
  const result = Bun.spawnSync([process.execPath, bin, ...args], { stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("cas stats and cas validate on a read-only mount (EROFS)", () => {
  test("they read the store, as ContentStore.openReadOnly does", async () => {
    const mountPoint = join(directory, "mount");
    const root = join(mountPoint, "cache");
    await withReadOnlyMount(
      mountPoint,
      () => {
        using store = ContentStore.open(root);
        for (let i = 0; i < 10; i++) store.put(new TextEncoder().encode(`object ${i}`));
      },
      async () => {
        // The library can read it:
        {
          using store = ContentStore.openReadOnly(root);
          expect(store.validate().valid).toBe(true);
        }
        const stats = cli("cas", "stats", root, "--json");
        expect({ exitCode: stats.exitCode, stderr: stats.stderr }).toEqual({ exitCode: 0, stderr: "" });
        const validate = cli("cas", "validate", root);
        expect({ exitCode: validate.exitCode, stderr: validate.stderr }).toEqual({ exitCode: 0, stderr: "" });
        expect(validate.stdout).toContain("10 objects");
      },
    );
  });
});
