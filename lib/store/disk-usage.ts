/**
 * Bytes on disk under `path` (st_blocks x 512, as du counts them); what vanishes
 * meanwhile counts 0. Links are not followed (lstat, as du): a link counts as
 * itself, so links back into the store (or to /) cannot make the walk count
 * anything twice, or walk outside it. The walk keeps its own stack, so a deep
 * tree cannot overflow the call stack, and stops descending at `maxDepth`
 * levels (a store is 2 deep: generation, file): without links it ends with
 * the tree, and the depth bound makes that explicit.
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

const maxDepth = 64;

export function diskBytes(path: string): number {
  let total = 0;
  const pending: { path: string; depth: number }[] = [{ path, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    try {
      const status = lstatSync(next.path);
      total += status.blocks * 512;
      if (!status.isDirectory() || next.depth >= maxDepth) continue;
      for (const name of readdirSync(next.path)) pending.push({ path: join(next.path, name), depth: next.depth + 1 });
    } catch {
      // removed while we looked (a generation being collected)
    }
  }
  return total;
}
