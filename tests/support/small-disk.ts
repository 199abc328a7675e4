/**
 * A small tmpfs mounted for one test file: a disk that fills on demand. Needs
 * root (or CAP_SYS_ADMIN); when the mount fails, every test that asks for the
 * disk fails with the reason (it never skips). Unmounted and removed after the file.
 */
import { afterAll, beforeAll } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createTempDirectory, removeDirectory } from "./temp.ts";

export interface SmallDisk {
  /** Where the tmpfs is mounted; throws the mount's failure instead. */
  mountPoint(): string;
}

export function smallDisk(prefix: string, sizeMiB: number): SmallDisk {
  const root = createTempDirectory(prefix);
  const mountPoint = join(root, "tmpfs");
  let mountError: string | undefined;
  beforeAll(() => {
    mkdirSync(mountPoint);
    const result = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", mountPoint]);
    if (result.exitCode !== 0) mountError = `cannot mount a ${sizeMiB} MiB tmpfs at ${mountPoint}: ${result.stderr.toString().trim()} (needs root)`;
  });
  // Removed by hand after the umount: removing it first would reach into the mount.
  afterAll(() => {
    if (mountError === undefined) Bun.spawnSync(["umount", mountPoint]);
    removeDirectory(root);
  });
  return {
    mountPoint() {
      if (mountError !== undefined) throw new Error(mountError);
      return mountPoint;
    },
  };
}
