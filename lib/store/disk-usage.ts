/** Bytes on disk under `path` (st_blocks x 512, as du counts them); what vanishes meanwhile counts 0. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export function diskBytes(path: string): number {
  try {
    const status = statSync(path);
    if (!status.isDirectory()) return status.blocks * 512;
    return readdirSync(path).reduce((sum, name) => sum + diskBytes(join(path, name)), 0);
  } catch {
    return 0; // removed while we looked (a generation being collected)
  }
}
