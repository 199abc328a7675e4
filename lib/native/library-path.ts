/**
 * Where the native shim is found. No bun:ffi here: this only names files.
 *
 * Order: the path in MAPPED_FILE_ARENA_LIBRARY (an explicit choice always wins),
 * then the prebuilt shim shipped in the package for this platform, then a local
 * `zig build` in zig-out/lib (a checkout of the repository).
 *
 * Inside a `bun build --compile` executable the package's own files are not on
 * disk (this module's URL is under /$bunfs), so instead of prebuilds/ and zig-out/
 * the shim is looked for next to the executable. An executable can also carry the
 * shim inside itself: import the prebuilt file `with { type: "file" }` and put the
 * path that import gives into MAPPED_FILE_ARENA_LIBRARY before the first arena is
 * opened (Bun extracts embedded files for dlopen). See docs/platforms.md.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

/** The environment variable that names the shim to load, overriding every other place. */
export const libraryEnvironmentVariable = "MAPPED_FILE_ARENA_LIBRARY";

/** This module's own file: inside a compiled executable it is under Bun's virtual root. */
const modulePath = fileURLToPath(import.meta.url);
const packageRoot = fileURLToPath(new URL("../..", import.meta.url));

/** The platforms prebuilds/ holds a shim for (build.zig builds exactly these). */
export const supportedPlatforms = [
  "linux-x64-gnu",
  "linux-arm64-gnu",
  "linux-x64-musl",
  "linux-arm64-musl",
  "darwin-x64",
  "darwin-arm64",
  "win32-x64",
  "win32-arm64",
] as const;

/** The platform's name in prebuilds/: linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64, ... */
export function platformName(): string {
  const { platform, arch } = process;
  if (platform === "linux") return `linux-${arch}-${isMusl() ? "musl" : "gnu"}`;
  return `${platform}-${arch}`;
}

function isMusl(): boolean {
  const machine = process.arch === "arm64" ? "aarch64" : "x86_64";
  return existsSync(`/lib/ld-musl-${machine}.so.1`);
}

/** True when running inside a `bun build --compile` executable. */
export function isCompiledExecutable(): boolean {
  return modulePath.startsWith("/$bunfs/") || modulePath.includes("~BUN");
}

/** The shim's file name on an OS (this one by default): libmapped_file_arena.so, .dylib, or mapped_file_arena.dll. */
export function libraryFileName(platform: string = process.platform): string {
  if (platform.startsWith("win32")) return "mapped_file_arena.dll";
  return platform.startsWith("darwin") ? "libmapped_file_arena.dylib" : "libmapped_file_arena.so";
}

/** Where the package ships the shim for this platform. */
export function prebuiltLibraryPath(): string {
  return join(packageRoot, "prebuilds", platformName(), libraryFileName());
}

/** Where `zig build` (or `bun run build:native`) puts the shim in a checkout: lib/, or bin/ for a DLL. */
export function localBuildLibraryPath(): string {
  return join(packageRoot, "zig-out", process.platform === "win32" ? "bin" : "lib", libraryFileName());
}

/** Inside a compiled executable: the shim beside it, either loose or in prebuilds/<platform>/. */
function besideExecutablePaths(): string[] {
  const directory = dirname(process.execPath);
  return [join(directory, libraryFileName()), join(directory, "prebuilds", platformName(), libraryFileName())];
}

/** Where the shim was found, and by which rule; or every place that was searched. */
export type LibraryLocation =
  | { found: true; path: string; source: "environment" | "prebuilt" | "local build" | "beside executable" }
  | { found: false; searched: string[] };

/** Applies the search order above. Touches nothing but existsSync. */
export function locateLibrary(): LibraryLocation {
  const explicit = process.env[libraryEnvironmentVariable];
  if (explicit) return { found: true, path: explicit, source: "environment" };
  if (isCompiledExecutable()) {
    const searched = besideExecutablePaths();
    const path = searched.find((candidate) => existsSync(candidate));
    return path === undefined ? { found: false, searched } : { found: true, path, source: "beside executable" };
  }
  const searched = [prebuiltLibraryPath(), localBuildLibraryPath()];
  if (existsSync(searched[0]!)) return { found: true, path: searched[0]!, source: "prebuilt" };
  if (existsSync(searched[1]!)) return { found: true, path: searched[1]!, source: "local build" };
  return { found: false, searched };
}

/** What to tell a person when no shim was found: the platform, and how to get one. */
export function missingLibraryAdvice(searched: string[]): string {
  const platform = platformName();
  const looked = `looked in ${searched.join(", ")}`;
  const override = `or set ${libraryEnvironmentVariable} to the path of a libmapped_file_arena built for it`;
  if (isCompiledExecutable()) {
    return (
      `no native library for ${platform} in this compiled executable: ${looked}. ` +
      `Copy prebuilds/${platform}/${libraryFileName()} from the mapped-file-arena package next to the executable, ` +
      `embed it (import it \`with { type: "file" }\` and assign the result to ${libraryEnvironmentVariable}), ${override}.`
    );
  }
  const supported = (supportedPlatforms as readonly string[]).includes(platform);
  const fix = supported
    ? `The published package ships prebuilds/${platform}/: reinstall mapped-file-arena; in a checkout, run ` +
      `\`bun run build:native\` (it needs the Zig release named in .zig-version: \`python3 -m pip install ziglang==<version>\`), `
    : `${platform} has no prebuilt shim (shipped: ${supportedPlatforms.join(", ")}); build one from a checkout with ` +
      `\`python3 -m ziglang build -Dtarget=<arch>-<os>\`, `;
  return `no native library for ${platform}: ${looked}. ${fix}${override}.`;
}
