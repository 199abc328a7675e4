// Scratch files for benchmarks, in one temporary folder removed at exit.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFileRegionArena, type ArenaOptions } from "../lib/index.ts";

export const scratchDirectory = mkdtempSync(join(tmpdir(), "arena-bench-"));
process.on("exit", () => rmSync(scratchDirectory, { recursive: true, force: true }));

let counter = 0;
export function scratchPath(name: string): string {
  counter += 1;
  return join(scratchDirectory, `${name}-${counter}.bin`);
}

export function removeArenaFiles(path: string): void {
  rmSync(path, { force: true });
  rmSync(`${path}.shared`, { force: true });
}

/**
 * An arena that is replaced by a fresh one (untimed, in prepare) before it passes
 * `limitBytes`, so a long benchmark does not fill the disk. Fresh pages each time:
 * page faults on first touch are part of what append costs.
 */
export class RecyclingArena {
  arena: MappedFileRegionArena;
  readonly #path = scratchPath("recycled");
  constructor(readonly options: ArenaOptions, readonly limitBytes: number) {
    this.arena = MappedFileRegionArena.create(this.#path, options);
  }
  /** Makes room for `bytes` more. */
  ensure(bytes: number): MappedFileRegionArena {
    if (this.arena.size + bytes > this.limitBytes) {
      this.arena.close();
      removeArenaFiles(this.#path);
      this.arena = MappedFileRegionArena.create(this.#path, this.options);
    }
    return this.arena;
  }
  close(): void {
    this.arena.close();
    removeArenaFiles(this.#path);
  }
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
