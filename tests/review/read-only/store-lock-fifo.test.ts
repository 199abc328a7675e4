/**
 * Review of issue 13 item 2 (read-only opens): a content store's `lock` files.
 *
 * The arena never waits on a FIFO (mfa_open is O_NONBLOCK, and PATH.shared must
 * be a regular file: "never a hang", docs/guarantees.md). A writer's store open
 * does not hang either: it opens its lock files "a+" (O_RDWR, which a FIFO does
 * not block). But ContentStore.openReadOnly opens the root `lock` and each
 * generation's `lock` with openSync(path, "r"): O_RDONLY without O_NONBLOCK, which
 * blocks until a writer opens the FIFO, that is forever. A store is exactly what
 * a reader may not own (a cache another user shipped), so one mkfifo by that
 * user hangs every reader. Each open runs in a child that is killed after 20 s.
 */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { finished, spawnChild } from "../../support/processes.ts";
import { tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("review-ro-fifo-");
let stores = 0;

function storeWithFifoAt(name: string): string {
  const root = join(directory, `store-${++stores}`);
  {
    using store = ContentStore.open(root);
    store.put(new Uint8Array([1, 2, 3]));
  }
  rmSync(join(root, name));
  const made = Bun.spawnSync(["mkfifo", join(root, name)]);
  if (made.exitCode !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  return root;
}

async function openInChild(root: string): Promise<string> {
  const child = spawnChild("../../review/read-only/children/open-store-read-only.ts", [root]);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, 20_000);
  try {
    const result = await finished(child);
    return killed ? "hung (killed after 20 s)" : result.stdout.trim();
  } finally {
    clearTimeout(timer);
  }
}

describe("a FIFO where a store's lock file should be", () => {
  test("control: a writer's open does not hang on it", () => {
    const root = storeWithFifoAt("lock");
    using store = ContentStore.open(root);
    expect(store.readOnly).toBe(false);
  });

  for (const name of ["lock", join("v1.0", "lock")]) {
    test(`openReadOnly with a FIFO at ${name}: an error or an open, never a hang`, async () => {
      const root = storeWithFifoAt(name);
      expect(await openInChild(root)).not.toBe("hung (killed after 20 s)");
    }, 40_000);
  }
});
