// Shared by the store's tests and their child processes.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ContentStore } from "../../lib/index.ts";

/** The deterministic bytes of test object `index`: `size` bytes, unique per index. */
export function objectBytes(index: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let state = (index * 2654435761 + 12345) >>> 0;
  for (let offset = 0; offset + 4 <= size; offset += 4) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    view.setUint32(offset, state, true);
  }
  if (size >= 4) view.setUint32(0, index, true); // unique even if the generator repeats
  return bytes;
}

export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

const childrenDirectory = join(import.meta.dir, "children");

/** Starts `bun tests/store/children/<script> ...args`, piping stdout and stderr. */
export function spawnStoreChild(script: string, args: (string | number)[]) {
  return Bun.spawn([process.execPath, join(childrenDirectory, script), ...args.map(String)], {
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Child side of a start barrier: waits (at most 60 s) for the parent to create `goFile`. */
export function waitForGo(goFile: string): void {
  const deadline = Date.now() + 60_000;
  while (!existsSync(goFile)) {
    if (Date.now() > deadline) throw new Error("no go from the parent within 60 s");
    Bun.sleepSync(1);
  }
}

/** Runs a child to its end; returns its exit, signal and output. SIGKILLed after `timeoutMs`. */
export async function runToEnd(child: ReturnType<typeof spawnStoreChild>, timeoutMs = 120_000) {
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    return { exitCode: child.exitCode, signalCode: child.signalCode, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** The hot set of the bounded-store test: objects, a tree over some of them, an action entry. */
export function hotSet() {
  const objects = Array.from({ length: 100 }, (_, index) => objectBytes(1_000_000_000 + index, 4096));
  const ids = objects.map(sha256Hex);
  return { objects, ids };
}

/** Puts the hot set (the parent does, before the workload). */
export function putHotSet(store: ContentStore): void {
  const { objects } = hotSet();
  const ids = objects.map((bytes) => store.put(bytes));
  store.actions.put("hot action", store.put(new TextEncoder().encode("hot tree"), ids.slice(0, 20)));
}

/** Reads every hot object, the tree and the action; returns how many were missing. */
export function readHotSet(store: ContentStore, hot: ReturnType<typeof hotSet>): number {
  let missing = 0;
  for (const id of hot.ids) if (store.get(id) === null) missing += 1;
  const parent = store.actions.get("hot action");
  const tree = parent === null ? null : store.get(parent);
  if (tree === null || tree.refs.some((ref) => !store.has(ref))) missing += 1;
  return missing;
}

/** Resolves when `condition` holds (checked every 10 ms), or after `timeoutMs` (then false). */
export async function until(condition: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await Bun.sleep(10)) if (condition()) return true;
  return condition();
}
