/**
 * `bun run test:windows`: runs the Windows-relevant tests with the Windows build of
 * Bun under Wine, on Linux, from nothing. Wine is not Windows (docs/platforms.md
 * says what that leaves untested); it runs the real bun.exe, the real Windows
 * shim and the real Win32 calls as Wine implements them.
 *
 * Steps, each skipped when its result is already there:
 *  1. Wine: `apt-get install wine wine64` (as root; otherwise it must be installed).
 *  2. Bun for Windows: the npm package @oven/bun-windows-x64 at the version of the
 *     pinned `bun` devDependency, fetched with `npm pack` into node_modules/.cache.
 *  3. bcryptprimitives.dll: Bun for Windows imports ProcessPrng from it and Wine
 *     8.0 has none; a stand-in (tests/windows/wine/bcryptprimitives.zig) goes next
 *     to bun.exe.
 *  4. The Windows shim, built with the pinned Zig.
 *  5. A fresh WINEPREFIX for this run; the Linux build of Bun makes an arena file
 *     for the cross-platform test.
 *  6. `bun.exe test` under Wine: the files in `windowsTests` below, from a copy of
 *     the sources (see runUnderWine).
 *  7. The Linux build of Bun checks the files the Windows run left.
 *  8. What a Windows user's `bun add` gets: the package tarball (`bun pm pack`,
 *     which builds every prebuilt shim), installed into a fresh project with no
 *     registry reachable, opens an arena under bun.exe with the prebuilt win32-x64
 *     DLL and nothing else. The install itself is made by the Linux build (the
 *     files are the same on every platform): `bun add` of Bun for Windows stops
 *     under Wine 8 with "cannot access tempdir: ENOENT", before it reads the
 *     tarball.
 * Prints "windows: N passed, N failed" and exits non-zero on any failure.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendRecords, crossPlatformDirectoryVariable, openArena, problemsIn } from "../tests/windows/cross-platform.ts";
import { buildNative, isStale } from "./build-native.ts";
import { findZig, repositoryRoot, runZig } from "./zig.ts";

/**
 * What runs under Wine: the Windows-only files (named *.windows.ts so that the
 * Linux run of `bun test` does not pick them up) and the files of tests/arena
 * whose assertions hold on Windows, less the tests in `linuxOnlyTests`. Files left
 * out whole: disk-full, durability, filesystem, unsafe-filesystem (tmpfs mounts,
 * /proc, statfs magic numbers, mock file systems), large-capacity (8 GiB of disk),
 * model (90 s under Wine), interop and trie/format (C peers built for Linux),
 * one-file-many-names and creation-waiters (symlinks, bind mounts, /proc/locks),
 * packaging (the Linux toolchain), cli/inspect (its clean-up is a recursive rmSync,
 * which fails under Wine; the CLI runs under Wine in bump-bounds and trie/api).
 */
const windowsTests = [
  "tests/windows/lifecycle.windows.ts",
  "tests/windows/errors.windows.ts",
  "tests/windows/cross-platform.windows.ts",
  "tests/arena/arena.test.ts",
  "tests/arena/multiprocess.test.ts",
  "tests/arena/create-race.test.ts",
  "tests/arena/crash.test.ts",
  "tests/arena/protocol-edges.test.ts",
  "tests/arena/block-allocator.test.ts",
  "tests/arena/safety/refuse-foreign-files.test.ts",
  "tests/arena/safety/use-after-close.test.ts",
  "tests/arena/safety/failed-oncreate.test.ts",
  "tests/arena/safety/workers.test.ts",
  "tests/arena/bump-bounds.test.ts",
  "tests/trie/api.test.ts",
];

/** Tests in those files that assert what only Linux does, by a part of their names. */
const linuxOnlyTests = [
  // arena.test.ts: disk reserved with fallocate (Windows cannot: docs/platforms.md);
  // the Windows versions are in lifecycle.windows.ts and errors.windows.ts.
  "a large allocation reserves disk up to its end",
  "a missing directory is ENOENT, with syscall and path", // syscall "open", not "CreateFileW"
  // protocol-edges.test.ts: the inode lock, an open-file-description lock Linux alone has.
  "under another name has the file mapped",
  // protocol-edges.test.ts: the shrink after a window was transferred away; on
  // Windows that view stays mapped (lib/arena/platform.ts), as lifecycle.windows.ts tests.
  "a view whose buffer was transferred away does not stop close",
  // workers.test.ts: its broken variant is one try at a race, which once saw no
  // overlap under Wine on this shared machine (multiprocess.test.ts tries three times).
  "broken variant: read-then-write on bumpPtr instead of Atomics.add",
];

/** `bun test -t`: every test whose full name contains none of linuxOnlyTests. */
function testNamePattern(): string {
  const escaped = linuxOnlyTests.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return `^(?!.*(${escaped.join("|")}))`;
}

const cacheDirectory = join(repositoryRoot, "node_modules", ".cache", "mapped-file-arena-windows");

function step(message: string): void {
  console.log(`== windows: ${message}`);
}

function run(command: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): void {
  const result = Bun.spawnSync(command, { stdout: "inherit", stderr: "inherit", cwd: options.cwd, env: options.env });
  if (!result.success) throw new Error(`\`${command.join(" ")}\` failed with exit code ${result.exitCode}`);
}

function ensureWine(): void {
  if (Bun.which("wine")) return;
  if (process.getuid?.() !== 0) {
    throw new Error("Wine is not installed; as root this script installs it (`apt-get install wine wine64`)");
  }
  step("installing Wine (apt-get install wine wine64)");
  const started = performance.now();
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run(["apt-get", "update", "-qq"], { env });
  run(["apt-get", "install", "-y", "-qq", "wine", "wine64"], { env });
  step(`Wine installed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/** The version of the Linux Bun this checkout pins: the Windows one must match it. */
function pinnedBunVersion(): string {
  const manifest = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8"));
  return manifest.devDependencies.bun as string;
}

/** bun.exe with the ProcessPrng stand-in beside it; returns the folder. */
function ensureWindowsBun(): string {
  const version = pinnedBunVersion();
  const directory = join(cacheDirectory, `bun-windows-x64-${version}`);
  if (!existsSync(join(directory, "bun.exe"))) {
    step(`fetching @oven/bun-windows-x64@${version}`);
    const download = join(cacheDirectory, "download");
    rmSync(download, { recursive: true, force: true });
    mkdirSync(download, { recursive: true });
    run(["npm", "pack", "--silent", `@oven/bun-windows-x64@${version}`, "--pack-destination", download]);
    const [tarball] = readdirSync(download).filter((name) => name.endsWith(".tgz"));
    run(["tar", "-xzf", join(download, tarball!), "-C", download]);
    mkdirSync(directory, { recursive: true });
    copyFileSync(join(download, "package", "bin", "bun.exe"), join(directory, "bun.exe"));
    rmSync(download, { recursive: true, force: true });
  }
  if (!existsSync(join(directory, "bcryptprimitives.dll"))) {
    step("building the bcryptprimitives.dll stand-in for Wine");
    const source = join(repositoryRoot, "tests", "windows", "wine", "bcryptprimitives.zig");
    const output = `-femit-bin=${join(directory, "bcryptprimitives.dll")}`;
    run([...findZig(), "build-lib", "-dynamic", "-target", "x86_64-windows-gnu", "-O", "ReleaseSmall", "-fno-emit-implib", output, source], {
      cwd: cacheDirectory,
    });
  }
  return directory;
}

/** The Windows shim, built from this checkout; returns its path. */
function buildWindowsShim(): string {
  step("building the Windows shim (x86_64-windows-gnu)");
  const prefix = join(cacheDirectory, "shim");
  runZig(["build", "-Dtarget=x86_64-windows-gnu", "--prefix", prefix]);
  return join(prefix, "bin", "mapped_file_arena.dll");
}

/** A Linux path as Wine's Windows programs see it (drive Z: is the root). */
function windowsPath(path: string): string {
  return `Z:${path.replaceAll("/", "\\")}`;
}

interface Tally {
  passed: number;
  failed: number;
}

/** Bun for Windows under Wine prints this harmless line for every package.json it reads. */
const wineNoise = /^Internal error: directory mismatch for directory/;

/** Runs bun.exe under Wine; returns its exit status and its output without Wine's noise. */
function wineBun(bunDirectory: string, prefix: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = Bun.spawnSync(["wine", join(bunDirectory, "bun.exe"), ...args], {
    cwd,
    // Generous for a loaded machine; a hang (a lock never granted) must still end.
    timeout: 600_000,
    env: { ...process.env, WINEDEBUG: "-all", WINEPREFIX: prefix, NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = `${child.stdout.toString()}${child.stderr.toString()}`;
  const lines = output.split(/\r?\n/).filter((line) => !wineNoise.test(line));
  return { success: child.success, stdout: child.stdout.toString().replace(/\r/g, ""), lines };
}

function runUnderWine(bunDirectory: string, shim: string, shared: string, prefix: string): Tally {
  step(`bun.exe test, ${windowsTests.length} files, under Wine (WINEPREFIX ${prefix})`);
  // From a copy of lib/, bin/, examples/ and tests/ with no package.json or tsconfig.json above it:
  // Bun for Windows under Wine prints a line of noise on stderr for each of those
  // it reads, which the tests that expect a child's stderr to be empty would see.
  const copy = join(prefix, "..", "checkout");
  for (const folder of ["lib", "bin", "examples", "tests"]) cpSync(join(repositoryRoot, folder), join(copy, folder), { recursive: true });
  const testFiles = windowsTests.map((file) => windowsPath(join(copy, file)));
  const child = wineBun(bunDirectory, prefix, ["test", "--timeout", "120000", "-t", testNamePattern(), ...testFiles], copy, {
    MAPPED_FILE_ARENA_LIBRARY: windowsPath(shim),
    [crossPlatformDirectoryVariable]: windowsPath(shared),
  });
  const lines = child.lines;
  console.log(lines.join("\n"));
  const count = (word: string) => Number(lines.map((line) => line.match(new RegExp(`^ *(\\d+) ${word}$`))?.[1]).findLast(Boolean) ?? 0);
  const tally = { passed: count("pass"), failed: count("fail") };
  // A run that died before its summary (Wine could not start, bun.exe crashed) fails.
  if (!child.success && tally.failed === 0) tally.failed = 1;
  if (tally.passed === 0) tally.failed = Math.max(tally.failed, 1);
  return tally;
}

/** The Linux half of the cross-platform test, after the Windows run. */
function checkWhatWindowsLeft(shared: string): Tally {
  const checks: [string, string, string[]][] = [
    ["made by Linux, appended to by Windows", "linux-made.arena", ["linux", "windows"]],
    ["made by Windows", "windows-made.arena", ["windows"]],
  ];
  const tally = { passed: 0, failed: 0 };
  for (const [what, name, sides] of checks) {
    let problems: string[];
    try {
      using arena = openArena(join(shared, name));
      problems = problemsIn(arena, sides);
    } catch (error) {
      problems = [String(error)];
    }
    console.log(`${problems.length === 0 ? "(pass)" : "(fail)"} Linux reads the arena ${what} ${problems.join("; ")}`);
    if (problems.length === 0) tally.passed++;
    else tally.failed++;
  }
  return tally;
}

const roundTrip = `import { MappedFileRegionArena } from "mapped-file-arena";
const path = process.argv[2]!;
const offsets: number[] = [];
{
  using arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
  for (const text of ["first", "second"]) offsets.push(arena.append(new TextEncoder().encode(text)));
}
using arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
console.log(JSON.stringify({ offsets, size: arena.size, text: new TextDecoder().decode(arena.bytes(offsets[1]!, 6)) }));
`;

/** Step 8: the tarball, installed offline by bun.exe, works with its prebuilt DLL. */
function checkPackagedInstall(bunDirectory: string, scratch: string, prefix: string): Tally {
  step("bun pm pack; the tarball added to a fresh project, offline; bun.exe opens an arena there");
  const packed = join(scratch, "packed");
  mkdirSync(packed);
  run([process.execPath, "pm", "pack", "--quiet", "--destination", packed], { cwd: repositoryRoot });
  const [tarball] = readdirSync(packed).filter((name) => name.endsWith(".tgz"));
  const project = join(scratch, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "windows-user", private: true, type: "module" }));
  writeFileSync(join(project, "round-trip.ts"), roundTrip);
  // No registry, no override: only the DLL in the package can be what loads.
  const offline = { BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/", NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/", MAPPED_FILE_ARENA_LIBRARY: "" };
  const add = Bun.spawnSync([process.execPath, "add", join(packed, tarball!)], { cwd: project, env: { ...process.env, ...offline } });
  // --no-install: a missing package must be an error, not an auto-install from the (absent) registry.
  const used = wineBun(bunDirectory, prefix, ["--no-install", "round-trip.ts", "data.arena"], project, offline);
  const expected = JSON.stringify({ offsets: [32, 40], size: 48, text: "second" });
  const ok = add.success && used.success && used.stdout.trim() === expected;
  if (!ok) console.log([add.stderr.toString(), ...used.lines].join("\n"));
  console.log(`${ok ? "(pass)" : "(fail)"} a project with the tarball installed offline opens an arena under bun.exe with the prebuilt DLL alone`);
  return { passed: ok ? 1 : 0, failed: ok ? 0 : 1 };
}

function main(): number {
  const started = performance.now();
  ensureWine();
  const bunDirectory = ensureWindowsBun();
  const shim = buildWindowsShim();
  if (isStale()) buildNative(); // the Linux shim, for the Linux half
  const scratch = mkdtempSync(join(tmpdir(), "mfa-windows-"));
  try {
    const shared = join(scratch, "shared");
    mkdirSync(shared);
    {
      using linuxMade = openArena(join(shared, "linux-made.arena"));
      appendRecords(linuxMade, "linux");
    }
    const prefix = join(scratch, "wineprefix");
    const tallies = [runUnderWine(bunDirectory, shim, shared, prefix), checkWhatWindowsLeft(shared), checkPackagedInstall(bunDirectory, scratch, prefix)];
    const passed = tallies.reduce((sum, tally) => sum + tally.passed, 0);
    const failed = tallies.reduce((sum, tally) => sum + tally.failed, 0);
    step(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    console.log(`windows: ${passed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
  } finally {
    Bun.spawnSync(["wineserver", "-k"], { env: { ...process.env, WINEPREFIX: join(scratch, "wineprefix") } });
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exit(main());
