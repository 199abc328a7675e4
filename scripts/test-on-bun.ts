/**
 * Runs the whole suite (`npm test`'s `bun test` command) on another Bun than the
 * pinned one: the oldest supported release, or Linux arm64 under emulation.
 *
 *   bun scripts/test-on-bun.ts --oldest        engines.bun's release, on this machine's arch
 *   bun scripts/test-on-bun.ts --arch arm64    the pinned release for linux-arm64, under qemu
 *   bun scripts/test-on-bun.ts --version 1.3.14 [--arch arm64] [-- more bun test arguments]
 *
 * The chosen `bun` goes first on PATH, so that everything the suite starts (child
 * processes use process.execPath; `bun pm pack` runs the prepack scripts with
 * `bun`) runs on it too.
 *
 * arm64: the npm build of Bun for linux-arm64 runs under qemu-user through
 * binfmt_misc (so that the processes it starts are emulated too), with the arm64
 * C library from Debian's libc6-arm64-cross (QEMU_LD_PREFIX, which every process
 * inherits). scripts/setup-arm64-emulation.sh installs and registers both. The
 * shim is the arm64 prebuilt, cross-built by Zig on this machine; the tests that
 * use the x86-64 C peer (tests/arena/interop) then share one arena between native
 * x86-64 processes and emulated arm64 ones. Emulation is 5-20x slower, so the
 * model test runs fewer rounds (MODEL_ROUNDS, as its own test allows), tests
 * scale their time limits and work by MAPPED_FILE_ARENA_TEST_SLOWDOWN
 * (tests/support/speed.ts), and bun test's default limit per test is longer.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { bunBinary, oldestBunVersion, pinnedBunVersion, type Arch } from "./bun-releases.ts";
import { buildPrebuilds } from "./build-prebuilds.ts";
import { repositoryRoot } from "./zig.ts";

const usage =
  "usage: bun scripts/test-on-bun.ts [--oldest | --version X.Y.Z] [--arch x64|arm64] [--exclude SUBSTRING]... [-- bun test arguments]";

const arm64LibraryRoot = "/usr/aarch64-linux-gnu";
const binfmtEntry = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
/** Rounds of the model test under emulation (60 natively, ~30 s; see model.test.ts). */
const emulatedModelRounds = "8";
/** How much slower emulated Bun is, for tests' time limits and work sizes (tests/support/speed.ts). */
const emulationSlowdown = "10";
/** bun test's per-test limit under emulation, for the tests that take npm test's default. */
const emulatedTestTimeoutMs = "180000";

function parseCommandLine() {
  try {
    const { values, positionals } = parseArgs({
      args: Bun.argv.slice(2),
      allowPositionals: true,
      options: {
        oldest: { type: "boolean", default: false },
        version: { type: "string" },
        arch: { type: "string", default: process.arch },
        exclude: { type: "string", multiple: true, default: [] },
        help: { type: "boolean", default: false },
      },
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    if (values.arch !== "x64" && values.arch !== "arm64") throw new Error(`--arch must be x64 or arm64, got ${values.arch}`);
    if (values.oldest && values.version !== undefined) throw new Error("give --oldest or --version, not both");
    const version = values.oldest ? oldestBunVersion : (values.version ?? pinnedBunVersion);
    return { version, arch: values.arch as Arch, testArguments: withoutExcluded(positionals, values.exclude as string[]) };
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
}

/**
 * bun test takes paths to include, not to leave out: with --exclude, every path
 * argument that is a folder becomes the test files under it, less those whose path
 * contains an excluded substring.
 */
function withoutExcluded(paths: string[], excluded: string[]): string[] {
  if (excluded.length === 0) return paths;
  const files: string[] = [];
  for (const path of paths) {
    const isFolder = existsSync(join(repositoryRoot, path)) && !path.endsWith(".ts");
    const expanded = isFolder ? [...new Bun.Glob(`${path.replace(/\/$/, "")}/**/*.test.ts`).scanSync({ cwd: repositoryRoot })].sort() : [path];
    files.push(...expanded.filter((file) => !excluded.some((part) => file.includes(part))));
  }
  return files;
}

/** Says what is missing for running arm64 binaries here, or nothing. */
function emulationProblem(): string | undefined {
  if (process.platform !== "linux") return "arm64 emulation is set up for Linux hosts only";
  if (!Bun.which("qemu-aarch64-static")) return "qemu-aarch64-static is not installed";
  if (!existsSync(join(arm64LibraryRoot, "lib", "ld-linux-aarch64.so.1"))) return `the arm64 C library is not in ${arm64LibraryRoot}`;
  if (!existsSync(binfmtEntry) || !readFileSync(binfmtEntry, "utf8").startsWith("enabled")) {
    return "qemu-aarch64 is not registered with binfmt_misc, so arm64 processes cannot start other arm64 processes";
  }
  return undefined;
}

/** Each test command: the package's own `npm test`, minus its `bun`. */
function suiteCommand(): string[] {
  const manifest = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8")) as { scripts: { test: string } };
  const [runner, ...args] = manifest.scripts.test.split(/\s+/);
  if (runner !== "bun") throw new Error(`package.json scripts.test must start with "bun", got ${JSON.stringify(manifest.scripts.test)}`);
  return args;
}

const { version, arch, testArguments } = parseCommandLine();
const environment: Record<string, string | undefined> = { ...process.env };
const emulated = arch === "arm64" && process.arch !== "arm64";
if (emulated) {
  const problem = emulationProblem();
  if (problem !== undefined) {
    console.error(`test-on-bun: ${problem}. Run scripts/setup-arm64-emulation.sh (as root) first.`);
    process.exit(2);
  }
  environment.QEMU_LD_PREFIX = arm64LibraryRoot;
  environment.MODEL_ROUNDS ??= emulatedModelRounds;
  environment.MAPPED_FILE_ARENA_TEST_SLOWDOWN ??= emulationSlowdown;
  // The arm64 shim comes from prebuilds/ (the loader prefers it); make it if missing.
  if (!existsSync(join(repositoryRoot, "prebuilds", "linux-arm64-gnu"))) buildPrebuilds();
}
const bun = bunBinary(version, arch);
environment.PATH = `${dirname(bun)}:${process.env.PATH ?? ""}`;

const command = [bun, ...suiteCommand(), ...(emulated ? ["--timeout", emulatedTestTimeoutMs] : []), ...testArguments];
console.error(`test-on-bun: Bun ${version} for linux-${arch}: ${command.join(" ")}`);
const started = Date.now();
const result = Bun.spawnSync(command, { cwd: repositoryRoot, env: environment, stdout: "inherit", stderr: "inherit" });
console.error(`test-on-bun: Bun ${version} linux-${arch}: exit ${result.exitCode} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(result.exitCode ?? 1);
