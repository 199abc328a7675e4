/**
 * Writer slots: how a reader tells a dead writer from a slow one without a timeout.
 *
 * Each writer holds one of slotCount slots for as long as it writes. Holding a
 * slot means holding an exclusive open-file-description lock (fcntl F_OFD_SETLK)
 * on the slot's byte of the log file. The kernel drops that lock when the last
 * descriptor of the open file is closed, which a process's death does, at any
 * instruction. So "the slot's lock is free" is a fact the system knows, not a
 * guess: nobody alive holds the slot. OFD locks (not flock, not classic fcntl
 * locks) because they cover byte ranges, so one file holds every slot, and they
 * belong to the open file description, so two logs open in one process (or in two
 * Workers) are two lockers, and a query from one sees the other's lock.
 *
 * A slot is reused after its writer dies. The writer that takes it bumps the
 * slot's generation word and stamps every block it claims with (slot, generation):
 * a block whose stamp differs from the slot's current generation belongs to a dead
 * writer, however alive the slot's new holder is.
 *
 * The claiming word covers the one moment a block has no stamp yet: between a
 * writer's compare-and-swap on the bump pointer and its store of the block's
 * owner word. The writer stores the index of the block it is about to claim there
 * before the swap (again before each retry) and clears it after the stamp, so a
 * reader that finds a block below the bump pointer without an owner, then finds
 * no live slot claiming that block, then still finds no owner, knows that the
 * block's claimer died and that it will never be written. A block is never given
 * back (the claim reserves its disk before the swap), so that verdict is final.
 * A writer stopped while claiming delays the verdict on its own block only.
 *
 * Linux only: macOS has no public OFD locks (see native/shim.zig).
 */
import type { WordLoads } from "../arena/word-loads.ts";
import { ArenaError } from "../common/errors.ts";
import { lockRange, testRange, unlockRange, type RangeLockResult } from "../native/native.ts";
import { claimingSomeBlock, claimingValue, slotClaimingWord, slotCount, slotGenerationWord, slotLockByte } from "./format.ts";

/** Whether a block's writer may still write to it. */
export interface Liveness {
  /** True when (slot, generation) may still write: its slot is held, by it. */
  isAlive(slot: number, generation: number): boolean;
  /** True when a live writer may be between claiming block `index` and stamping it. */
  claimInProgress(index: number): boolean;
}

/**
 * Liveness from the slot table (`slotWords`, the log header as 32-bit words: live
 * in the mapping, or a pread copy, loaded with `loads`) and lock queries on `fd`. `ownSlot` is the slot
 * this process holds through `fd` itself, which a query on `fd` cannot see.
 */
export function slotLiveness(fd: number, path: string, slotWords: Int32Array, ownSlot: () => number, loads: WordLoads): Liveness {
  const isLocked = (slot: number) => slot === ownSlot() || supported(testRange(fd, slotLockByte(slot), path), path) === "busy";
  return {
    isAlive(slot, generation) {
      if (slot < 0 || slot >= slotCount) return false;
      if (loads.int32(slotWords, slotGenerationWord(slot)) !== generation) return false;
      return isLocked(slot);
    },
    claimInProgress(index) {
      const claimingThis = claimingValue(index);
      for (let slot = 0; slot < slotCount; slot++) {
        const claiming = loads.int32(slotWords, slotClaimingWord(slot));
        if ((claiming === claimingThis || claiming === claimingSomeBlock) && isLocked(slot)) return true;
      }
      return false;
    },
  };
}

/** A slot held by this process: the lock is taken, the generation bumped. */
export interface HeldSlot {
  slot: number;
  generation: number;
}

/** Takes the first free slot, or throws ERR_LOG_TOO_MANY_WRITERS. */
export function takeSlot(fd: number, path: string, slotWords: Int32Array): HeldSlot {
  for (let slot = 0; slot < slotCount; slot++) {
    if (supported(lockRange(fd, "exclusive", slotLockByte(slot), path, false), path) === "busy") continue;
    // Only the lock holder writes these words, so plain arithmetic is safe. The
    // generation skips 0 so that a zeroed block never matches a live writer.
    let generation = (Atomics.load(slotWords, slotGenerationWord(slot)) + 1) | 0;
    if (generation === 0) generation = 1;
    Atomics.store(slotWords, slotClaimingWord(slot), 0);
    Atomics.store(slotWords, slotGenerationWord(slot), generation);
    return { slot, generation };
  }
  throw new ArenaError(
    "ERR_LOG_TOO_MANY_WRITERS",
    `${path}: all ${slotCount} writer slots are held by live writers; close a writer first`,
    { path },
  );
}

export function releaseSlot(fd: number, path: string, held: HeldSlot): void {
  unlockRange(fd, slotLockByte(held.slot), path);
}

/** Without OFD locks (macOS, Linux before 3.15) a dead writer cannot be told from a slow one. */
function supported(result: RangeLockResult, path: string): RangeLockResult {
  if (result !== "unsupported") return result;
  throw new ArenaError(
    "EOPNOTSUPP",
    `${path}: a record log needs open-file-description locks (Linux 3.15 or later) to tell a dead writer from a slow one`,
    { path, syscall: "fcntl" },
  );
}
