/**
 * Validation once per boot, and recovery (LLVM's UnifiedOnDiskCache::validateIfNeeded).
 * The store stays consistent through process crashes by construction; what can
 * break it is a power loss (pages written in a different order than they were
 * made) or a disk or a person damaging files. So a tool validates once after each
 * boot: `v1.validation` holds the boot time of the last validation, under an
 * exclusive lock so that one process validates while the others wait for its
 * verdict. A store found corrupt is moved aside whole (every `v1.N` renamed to
 * `corrupt.K.v1.N`, deleted by the next gc) and the store starts afresh; that
 * needs the store's `lock` exclusively, so it is refused while any process has
 * the store open, as in LLVM.
 */
import { closeSync, ftruncateSync, readFileSync, renameSync, writeSync } from "node:fs";
import { uptime } from "node:os";
import { join } from "node:path";
import { openRegularFile } from "../arena/regular-file.ts";
import { ArenaError } from "../common/errors.ts";
import { lockFile, unlockFile } from "../native/native.ts";
import { toArenaError, wrapFsErrors } from "./fs-errors.ts";
import { corruptPrefix, listGenerations, withExclusiveLock } from "./generations.ts";
import { generationPrefix } from "./generation.ts";
import { claimStoreDirectory } from "./store-directory.ts";

export type ValidationOutcome = "valid" | "recovered" | "skipped";

export interface ValidateIfNeededOptions {
  /** Re-hash every object (slow: about 0.6 ns a byte). Default false. */
  deep?: boolean;
  /** Move a corrupt store aside and start afresh, instead of throwing. Default true. */
  allowRecovery?: boolean;
  /** Validate even if this boot already has. Default false. */
  force?: boolean;
}

/** How many corrupt copies of one generation may wait for gc before recovery gives up. */
const maxCorruptCopies = 100;

/**
 * Validates the store in `directory` unless this boot already did. `validate`
 * opens the store and returns its problems (an open that fails is a problem too).
 */
export function validateIfNeeded(
  directory: string,
  options: Required<ValidateIfNeededOptions>,
  validate: (deep: boolean) => string[],
): { outcome: ValidationOutcome; problems: string[] } {
  const markerPath = join(directory, "v1.validation");
  claimStoreDirectory(directory); // made if new or empty; anything but a store is refused untouched
  const fd = wrapFsErrors(markerPath, () => openRegularFile(markerPath, "lock")); // a FIFO there would hang the read below
  try {
    lockFile(fd, "exclusive", markerPath);
    try {
      const boot = bootTime();
      const stamp = wrapFsErrors(markerPath, () => readFileSync(fd, "utf8")).trim(); // the descriptor checked to be a file
      if (stamp === String(boot) && !options.force) return { outcome: "skipped", problems: [] };
      const problems = validate(options.deep);
      if (problems.length > 0) {
        if (!options.allowRecovery) {
          throw new ArenaError("ERR_CAS_CORRUPT", `the store ${directory} is corrupt: ${problems.slice(0, 5).join("; ")}`, {
            path: directory,
          });
        }
        moveAllAside(directory);
      }
      wrapFsErrors(markerPath, () => {
        ftruncateSync(fd, 0);
        writeSync(fd, `${boot}\n`, 0);
      });
      return { outcome: problems.length > 0 ? "recovered" : "valid", problems };
    } finally {
      unlockFile(fd, markerPath);
    }
  } finally {
    closeSync(fd);
  }
}

function moveAllAside(directory: string): void {
  const moved = withExclusiveLock(join(directory, "lock"), () => {
    for (const number of listGenerations(directory)) {
      const name = `${generationPrefix}${number}`;
      for (let attempt = 0; ; attempt++) {
        if (attempt === maxCorruptCopies) {
          throw new ArenaError("ERR_CAS_BUSY", `too many corrupt copies of ${name} await gc in ${directory}`, { path: directory });
        }
        try {
          renameSync(join(directory, name), join(directory, `${corruptPrefix}${attempt}.${name}`));
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== "ENOTEMPTY" && code !== "EEXIST") throw toArenaError(error, join(directory, name));
        }
      }
    }
  });
  if (!moved) {
    throw new ArenaError("ERR_CAS_BUSY", `the store ${directory} is corrupt, and recovering it needs exclusive access, but it is open`, {
      path: directory,
    });
  }
}

/** Seconds since the epoch at boot: /proc/stat's btime on Linux, else from the uptime. */
function bootTime(): number {
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
    if (match) return Number(match[1]);
  } catch {
    // not Linux
  }
  return Math.round((Date.now() / 1000 - uptime()) / 10) * 10;
}
