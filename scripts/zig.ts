/**
 * Finds the pinned Zig: `zig` on PATH if it is the version in .zig-version, else
 * PyPI's ziglang package (`python3 -m ziglang`). Used by the build scripts only.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const repositoryRoot = join(import.meta.dir, "..");
export const requiredZigVersion = readFileSync(join(repositoryRoot, ".zig-version"), "utf8").trim();

function versionOf(command: string[]): string | undefined {
  try {
    const result = Bun.spawnSync([...command, "version"], { stdout: "pipe", stderr: "ignore" });
    return result.success ? result.stdout.toString().trim() : undefined;
  } catch {
    return undefined; // not installed
  }
}

export function findZig(): string[] {
  const candidates = [["zig"], ["python3", "-m", "ziglang"], ["python", "-m", "ziglang"]];
  const seen: string[] = [];
  for (const command of candidates) {
    const version = versionOf(command);
    if (version === requiredZigVersion) return command;
    if (version !== undefined) seen.push(`\`${command.join(" ")}\` is ${version}`);
  }
  const found = seen.length > 0 ? ` (${seen.join("; ")})` : "";
  throw new Error(
    `Zig ${requiredZigVersion} is needed to build the native shim and was not found${found}. ` +
      `Install it with: python3 -m pip install ziglang==${requiredZigVersion}`,
  );
}

export function runZig(args: string[]): void {
  const command = [...findZig(), ...args];
  const result = Bun.spawnSync(command, { cwd: repositoryRoot, stdout: "inherit", stderr: "inherit" });
  if (!result.success) throw new Error(`\`${command.join(" ")}\` failed with exit code ${result.exitCode}`);
}
