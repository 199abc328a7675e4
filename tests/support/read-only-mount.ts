// A tmpfs mounted for a test, filled, then remounted read-only (EROFS). Needs
// root (or CAP_SYS_ADMIN); without it the test fails with the reason, never skips.
import { mkdirSync } from "node:fs";

/**
 * Mounts a 16 MiB tmpfs at `mountPoint` (created), runs `fill` on it while it is
 * writable, remounts it read-only, runs `use`, and unmounts it whatever happens.
 */
export async function withReadOnlyMount(mountPoint: string, fill: () => void, use: () => Promise<void>): Promise<void> {
  mkdirSync(mountPoint, { recursive: true });
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]);
  if (mounted.exitCode !== 0) {
    throw new Error(
      `cannot mount a tmpfs at ${mountPoint} (exit ${mounted.exitCode}: ${mounted.stderr.toString().trim()}); ` +
        `the read-only mount tests need root (or CAP_SYS_ADMIN) and do not pass without it`,
    );
  }
  try {
    fill();
    const remounted = Bun.spawnSync(["mount", "-o", "remount,ro", mountPoint]);
    if (remounted.exitCode !== 0) throw new Error(`cannot remount ${mountPoint} read-only: ${remounted.stderr.toString().trim()}`);
    await use();
  } finally {
    const unmounted = Bun.spawnSync(["umount", mountPoint]);
    if (unmounted.exitCode !== 0) console.error(`umount ${mountPoint} failed: ${unmounted.stderr.toString()}`);
  }
}
