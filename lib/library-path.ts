/**
 * Where the native shim is found. No bun:ffi here: this only names files.
 *
 * Order: the path in MAPPED_FILE_ARENA_LIBRARY (an explicit choice always wins),
 * then the prebuilt shim shipped in the package for this platform, then a local
 * `zig build` in zig-out/lib (a checkout of the repository).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const libraryEnvironmentVariable = "MAPPED_FILE_ARENA_LIBRARY";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));

/** The platform's name in prebuilds/: linux-x64-gnu, linux-arm64-musl, darwin-arm64, ... */
export function platformName(): string {
  const { platform, arch } = process;
  if (platform === "linux") return `linux-${arch}-${isMusl() ? "musl" : "gnu"}`;
  return `${platform}-${arch}`;
}

function isMusl(): boolean {
  const machine = process.arch === "arm64" ? "aarch64" : "x86_64";
  return existsSync(`/lib/ld-musl-${machine}.so.1`);
}

export function libraryFileName(): string {
  return process.platform === "darwin" ? "libmapped_file_arena.dylib" : "libmapped_file_arena.so";
}

export function prebuiltLibraryPath(): string {
  return join(packageRoot, "prebuilds", platformName(), libraryFileName());
}

export function localBuildLibraryPath(): string {
  return join(packageRoot, "zig-out", "lib", libraryFileName());
}

export type LibraryLocation =
  | { found: true; path: string; source: "environment" | "prebuilt" | "local build" }
  | { found: false; searched: string[] };

export function locateLibrary(): LibraryLocation {
  const explicit = process.env[libraryEnvironmentVariable];
  if (explicit) return { found: true, path: explicit, source: "environment" };
  const searched = [prebuiltLibraryPath(), localBuildLibraryPath()];
  if (existsSync(searched[0]!)) return { found: true, path: searched[0]!, source: "prebuilt" };
  if (existsSync(searched[1]!)) return { found: true, path: searched[1]!, source: "local build" };
  return { found: false, searched };
}
