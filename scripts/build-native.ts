/**
 * Builds the native shim for this machine into zig-out/lib.
 *
 *   bun scripts/build-native.ts            always build
 *   bun scripts/build-native.ts --if-stale build only when the library is missing or
 *                                          older than native/, build.zig or .zig-version
 *
 * The test preload and `bun run demo` use --if-stale, so a fresh clone needs no
 * separate build step. An explicit MAPPED_FILE_ARENA_LIBRARY is left alone.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { libraryEnvironmentVariable, localBuildLibraryPath } from "../lib/library-path.ts";
import { repositoryRoot, runZig } from "./zig.ts";

function newestSourceTime(): number {
  const sources = ["build.zig", "build.zig.zon", ".zig-version", ...readdirSync(join(repositoryRoot, "native")).map((name) => join("native", name))];
  return Math.max(...sources.map((source) => statSync(join(repositoryRoot, source)).mtimeMs));
}

export function isStale(): boolean {
  if (process.env[libraryEnvironmentVariable]) return false;
  const library = localBuildLibraryPath();
  return !existsSync(library) || statSync(library).mtimeMs < newestSourceTime();
}

export function buildNative(): void {
  runZig(["build"]);
}

if (import.meta.main) {
  if (!process.argv.includes("--if-stale") || isStale()) buildNative();
}
