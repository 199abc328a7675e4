/**
 * Other Bun releases than the pinned one, for running the suite on them: the
 * oldest release the package supports (package.json `engines`), and the Linux
 * arm64 build of the pinned release (run under qemu; see test-on-bun.ts).
 *
 * Each comes from npm as Bun ships it there: `@oven/bun-linux-<arch>` holds the
 * binary at package/bin/bun. `npm pack` fetches that one package (no install,
 * no scripts), and it is kept under node_modules/.cache, so a second run is offline.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot } from "./zig.ts";

export type Arch = "x64" | "arm64";

const manifest = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8")) as {
  engines: { bun: string };
  devDependencies: { bun: string };
};

/** The release the repository pins (devDependencies.bun), which `npm ci` installs. */
export const pinnedBunVersion = manifest.devDependencies.bun;

/** The oldest supported release: engines.bun must read ">=X.Y.Z". */
export const oldestBunVersion = ((): string => {
  const match = /^>=\s*(\d+\.\d+\.\d+)$/.exec(manifest.engines.bun);
  if (!match) throw new Error(`package.json engines.bun must be ">=X.Y.Z", got ${JSON.stringify(manifest.engines.bun)}`);
  return match[1]!;
})();

const cacheDirectory = join(repositoryRoot, "node_modules", ".cache", "bun-releases");

/** The path of the `bun` binary of `version` for Linux on `arch`, fetched once. */
export function bunBinary(version: string, arch: Arch): string {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`not a Bun release version: ${JSON.stringify(version)}`);
  const directory = join(cacheDirectory, `${version}-linux-${arch}`);
  const binary = join(directory, "bun");
  if (existsSync(binary)) return binary;

  const npmName = `@oven/bun-linux-${arch === "arm64" ? "aarch64" : "x64"}@${version}`;
  mkdirSync(cacheDirectory, { recursive: true });
  const scratch = mkdtempSync(join(cacheDirectory, "fetch-"));
  try {
    console.error(`fetching Bun ${version} for linux-${arch} (${npmName})`);
    run(["npm", "pack", "--silent", npmName, "--pack-destination", scratch], scratch);
    run(["sh", "-c", "tar -xzf *.tgz"], scratch);
    mkdirSync(directory, { recursive: true });
    renameSync(join(scratch, "package", "bin", "bun"), binary);
    chmodSync(binary, 0o755);
    return binary;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function run(command: string[], cwd: string): void {
  const result = Bun.spawnSync(command, { cwd, stdout: "ignore", stderr: "inherit" });
  if (!result.success) throw new Error(`\`${command.join(" ")}\` failed with exit code ${result.exitCode}`);
}
