/**
 * Builds the native shim for this machine into zig-out/lib.
 *
 *   bun scripts/build-native.ts            always build
 *   bun scripts/build-native.ts --if-stale build only when the library is missing or
 *                                          older than native/, build.zig or .zig-version
 *   ... --optional                         without the pinned Zig, warn and succeed
 *
 * The test preload and `bun run demo` use --if-stale, so a fresh clone needs no
 * separate build step. An explicit MAPPED_FILE_ARENA_LIBRARY is left alone.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { libraryEnvironmentVariable, localBuildLibraryPath, prebuiltLibraryPath } from "../lib/native/library-path.ts";
import { findZig, repositoryRoot, runZig } from "./zig.ts";

function newestSourceTime(): number {
  const sources = ["build.zig", "build.zig.zon", ".zig-version", ...readdirSync(join(repositoryRoot, "native")).map((name) => join("native", name))];
  return Math.max(...sources.map((source) => statSync(join(repositoryRoot, source)).mtimeMs));
}

export function isStale(): boolean {
  if (process.env[libraryEnvironmentVariable]) return false;
  const library = localBuildLibraryPath();
  return !existsSync(library) || statSync(library).mtimeMs < newestSourceTime();
}

/**
 * The loader prefers a packaged prebuilt over zig-out (see lib/native/library-path.ts),
 * so in a checkout where `bun run build:all` once ran, an old prebuilt would hide
 * every change to native/. True when this platform's prebuilt is older than them.
 */
export function isPrebuiltStale(): boolean {
  if (process.env[libraryEnvironmentVariable]) return false;
  const prebuilt = prebuiltLibraryPath();
  return existsSync(prebuilt) && statSync(prebuilt).mtimeMs < newestSourceTime();
}

export function buildNative(): void {
  runZig(["build"]);
}

if (import.meta.main) {
  const wanted = !process.argv.includes("--if-stale") || isStale();
  // --optional (the `prepare` script): a machine without Zig, such as one that
  // installs this package from git, can still use a shim from elsewhere, so say
  // what is missing instead of failing the install. Tests and the demo build
  // without --optional and fail with the same message.
  if (wanted && process.argv.includes("--optional")) {
    try {
      findZig();
    } catch (error) {
      console.warn(`mapped-file-arena: native shim not built: ${(error as Error).message}`);
      process.exit(0);
    }
  }
  if (wanted) buildNative();
}
