/**
 * Builds the native shim for every supported platform into prebuilds/<platform>/
 * (`bun run build:all`; `prepack` runs it, so every published tarball carries all
 * six). Zig cross-compiles them all from any host; the shims are a few kilobytes.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot, runZig } from "./zig.ts";

export const prebuildsDirectory = join(repositoryRoot, "prebuilds");

export function buildPrebuilds(): void {
  // Start clean, so that a platform dropped from build.zig is not shipped stale.
  rmSync(prebuildsDirectory, { recursive: true, force: true });
  runZig(["build", "prebuilds", "--prefix", prebuildsDirectory]);
}

if (import.meta.main) buildPrebuilds();
