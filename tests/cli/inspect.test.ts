// `mapped-file-arena inspect` / `verify`: main() as the bin script calls it, and the
// bin script itself in a child process. Bad input must give one line on stderr and
// a non-zero exit, never a stack trace; inspecting must change nothing, not even
// create FILE.shared.
import { asOtherUserPrefix } from "../support/processes.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { main, type CliResult } from "../../lib/cli/cli.ts";
import { tempDirectory } from "../support/temp.ts";

const bin = join(import.meta.dir, "..", "..", "bin", "mapped-file-arena.ts");
let directory: string;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), "mfa-cli-"));
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** The command line as the bin script runs it, in this process (see "the bin script" for a real one). */
function run(...args: string[]): CliResult {
  return main(args);
}

/** The bin script in a child process, as a user runs it. */
function runBin(...args: string[]): CliResult {
  const result = Bun.spawnSync([process.execPath, bin, ...args], { cwd: directory, stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** One line of error (the usage text may follow a usage error), and nothing that looks like a stack. */
function expectOneLineError(result: ReturnType<typeof run>, exitCode: number, pattern: RegExp) {
  expect(result.exitCode).toBe(exitCode);
  expect(result.stdout).toBe("");
  const firstLine = result.stderr.split("\n")[0]!;
  expect(firstLine).toMatch(/^mapped-file-arena: /);
  expect(firstLine).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain("error:"); // Bun's uncaught-error banner
  if (!result.stderr.includes("usage:")) expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
}

function makeArena(name: string, options: { headerOffset?: number; records?: number } = {}): string {
  const path = join(directory, name);
  const arena = MappedFileRegionArena.create(path, { capacity: 1 << 20, headerOffset: options.headerOffset ?? 0 });
  for (let index = 0; index < (options.records ?? 10); index++) arena.append(new Uint8Array(100).fill(index));
  arena.close();
  return path;
}

describe("a valid arena", () => {
  test("inspect prints the header words, usage, disk, size, open state and validity", () => {
    const path = makeArena("valid.arena");
    const result = run("inspect", path);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe("");
    // 10 records of 100 bytes, each rounded up to 104, after the 32-byte header.
    const used = 32 + 10 * 104;
    for (const label of ["word 0  bumpPtr", "word 1  allocatedSize", "word 2  capacity", "word 3  headerOffset"]) {
      expect(result.stdout).toContain(label);
    }
    expect(result.stdout).toMatch(new RegExp(`used / capacity\\s+1\\.05 KiB \\(${used} B\\) / 1\\.00 MiB \\(1048576 B\\) \\(0\\.1 %\\)`));
    expect(result.stdout).toMatch(/disk reserved\s+\S+/);
    expect(result.stdout).toMatch(new RegExp(`file size\\s+1\\.\\d\\d KiB \\(${used} B\\)`));
    expect(result.stdout).toMatch(/open by a process\s+no/);
    expect(result.stdout).toMatch(/header\s+valid arena/);
  });

  test("--json gives the same facts to a script", () => {
    const path = makeArena("json.arena", { headerOffset: 64 });
    const result = run("inspect", path, "--json", "--header-offset", "64");
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    const used = 64 + 32 + 10 * 104;
    expect(report).toMatchObject({
      path,
      headerOffset: 64,
      header: { bumpPtr: used, capacity: 1 << 20, headerOffset: 64 },
      usedBytes: used,
      capacityBytes: 1 << 20,
      fileSizeBytes: used,
      openState: "not open",
      validation: { status: "valid" },
    });
    expect(report.diskReservedBytes).toBe(statSync(path).blocks * 512);
    expect(report.usedPercent).toBeCloseTo((used / (1 << 20)) * 100, 1);
  });

  test("verify prints one line and exits 0", () => {
    const path = makeArena("verify.arena");
    const result = run("verify", path);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stdout).toContain("valid arena");
  });

  test("sees a process that has the arena open", () => {
    const path = makeArena("held.arena");
    using arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
    const result = run("inspect", path, "--json");
    expect(JSON.parse(result.stdout).openState).toBe("open");
    // The probe released its lock at once: this opener can still be the last closer.
    arena.close();
    expect(statSync(path).size).toBe(32 + 10 * 104);
  });

  test("changes nothing, and never creates FILE.shared", () => {
    const path = makeArena("untouched.arena");
    rmSync(`${path}.shared`);
    const before = { bytes: readFileSync(path), mtimeMs: statSync(path).mtimeMs };
    expect(run("inspect", path).exitCode).toBe(0);
    expect(run("verify", path).exitCode).toBe(0);
    expect(JSON.parse(run("inspect", path, "--json").stdout).openState).toBe("no lock file");
    expect(existsSync(`${path}.shared`)).toBe(false);
    expect(readFileSync(path).equals(before.bytes)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(before.mtimeMs);
  });
});

describe("a corrupt header", () => {
  function corrupt(name: string, word: number, value: bigint): string {
    const path = makeArena(name);
    const bytes = readFileSync(path);
    new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(word * 8, value, true);
    writeFileSync(path, bytes);
    return path;
  }

  test("verify exits 1 with the reason on one line", () => {
    const path = corrupt("misaligned.arena", 0, 32n + 10n * 104n + 3n);
    const result = run("verify", path);
    expect(result.stdout).toBe("");
    expectOneLineError(result, 1, /INVALID \(ERR_ARENA_CORRUPT\): bumpPtr 0x\w+ is not a multiple of 8/);
  });

  test("inspect still shows the table, says INVALID and exits 1", () => {
    const path = corrupt("too-big.arena", 0, 1n << 30n);
    const result = run("inspect", path);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/header\s+INVALID \(ERR_ARENA_CORRUPT\): bumpPtr 0x40000000 is past the end of the file/);
    const report = JSON.parse(run("inspect", path, "--json").stdout);
    expect(report.validation).toMatchObject({ status: "invalid", code: "ERR_ARENA_CORRUPT" });
  });
});

describe("bad input", () => {
  test("a missing file", () => {
    expectOneLineError(run("inspect", join(directory, "nope.arena")), 2, /nope\.arena: no such file$/);
    expectOneLineError(run("verify", join(directory, "nope.arena")), 2, /no such file/);
    expect(existsSync(join(directory, "nope.arena"))).toBe(false);
    expect(existsSync(join(directory, "nope.arena.shared"))).toBe(false);
  });

  test("a directory", () => {
    const path = join(directory, "a-directory");
    mkdirSync(path);
    // It says what to use for the directory a user most likely means: a content store's.
    expectOneLineError(run("inspect", path), 2, /a-directory is a directory \(inspect and verify read one file; for a content store's directory, use `mapped-file-arena cas stats DIR` or `cas validate DIR`\)$/);
    expectOneLineError(run("verify", path), 2, /a-directory is a directory \(.*cas stats DIR/);
  });

  test("a text file", () => {
    const path = join(directory, "notes.txt");
    writeFileSync(path, "These are my notes, which are certainly not an arena file.\n");
    expectOneLineError(run("inspect", path), 1, /notes\.txt is not an arena file: the header offset word is 0x[0-9a-f]+, expected 0$/);
    expect(JSON.parse(run("inspect", path, "--json").stdout).error.code).toBe("ERR_ARENA_CORRUPT");
    expectOneLineError(run("verify", path), 1, /is not an arena file/);
  });

  test("a file too short for a header, and an empty one", () => {
    const short = join(directory, "short.bin");
    writeFileSync(short, "tiny");
    expectOneLineError(run("verify", short), 1, /short\.bin is not an arena file: 4 bytes is too short for a header at 0$/);
    // Empty is what a failed creation leaves: not an arena yet, and not corrupt either.
    const empty = join(directory, "empty.bin");
    writeFileSync(empty, "");
    expectOneLineError(run("verify", empty), 1, /empty\.bin: empty \(0 bytes\), not an arena yet; the next open creates one here$/);
    expect(run("inspect", empty).stdout).toMatch(/header\s+empty \(0 bytes\)/);
    expect(JSON.parse(run("inspect", empty, "--json").stdout).validation).toEqual({ status: "empty" });
  });

  test("the wrong --header-offset names the right one", () => {
    // Records of non-zero bytes: what is read at the wrong offset is then not a
    // header by accident, and only the search for the real one can name it.
    const path = join(directory, "offset.arena");
    const arena = MappedFileRegionArena.create(path, { capacity: 1 << 20, headerOffset: 8 });
    for (let index = 0; index < 10; index++) arena.append(new Uint8Array(100).map((_, byte) => byte + index + 1));
    arena.close();
    // inspect looks where the header is, and says so.
    for (const args of [[], ["--header-offset", "0"], ["--header-offset", "64"]]) {
      const table = run("inspect", path, ...args);
      expect(table.exitCode).toBe(0);
      const requested = args[1] ?? "0";
      expect(table.stdout).toMatch(new RegExp(`header offset\\s+8 \\(found here, not at ${requested}\\)\n`));
      expect(table.stdout).toMatch(/header\s+valid arena/);
      const json = JSON.parse(run("inspect", path, "--json", ...args).stdout);
      expect(json).toMatchObject({ headerOffset: 8, requestedHeaderOffset: Number(requested), validation: { status: "valid" } });
    }
    // verify without --header-offset accepts it where it is; with one, checks that one.
    const found = run("verify", path);
    expect(found.exitCode).toBe(0);
    expect(found.stdout).toMatch(/: valid arena, .*; header found at offset 8, not at 0\n$/);
    for (const wrong of ["0", "64"]) {
      expectOneLineError(run("verify", path, "--header-offset", wrong), 1, new RegExp(`has its header at offset 8, not at ${wrong}$`));
      const json = run("verify", path, "--header-offset", wrong, "--json");
      expect(json.exitCode).toBe(1);
      expect(JSON.parse(json.stdout).error.code).toBe("ERR_ARENA_HEADER_MISMATCH");
    }
    expect(run("verify", path, "--header-offset", "8").stdout).not.toContain("found");
  });

  test("a --header-offset that is not a multiple of 8, or not a number", () => {
    const path = makeArena("offset2.arena");
    expectOneLineError(run("inspect", path, "--header-offset", "7"), 2, /multiple of 8, got "7"/);
    expectOneLineError(run("inspect", path, "--header-offset", "-8"), 2, /--header-offset/);
    expectOneLineError(run("inspect", path, "--header-offset", "lots"), 2, /multiple of 8, got "lots"/);
  });

  test("usage errors", () => {
    expectOneLineError(run(), 2, /no command given/);
    expectOneLineError(run("frobnicate", "x"), 2, /unknown command "frobnicate"/);
    expectOneLineError(run("inspect"), 2, /inspect needs a FILE/);
    expectOneLineError(run("inspect", "a", "b"), 2, /unexpected argument "b"/);
    expectOneLineError(run("inspect", "a", "--frob"), 2, /--frob/);
  });

  test("help and --version", () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const help = run(...args);
      expect(help).toMatchObject({ exitCode: 0, stderr: "" });
      expect(help.stdout).toStartWith("usage: mapped-file-arena <inspect|verify> FILE");
    }
    const manifest = JSON.parse(readFileSync(join(import.meta.dir, "..", "..", "package.json"), "utf8"));
    for (const flag of ["--version", "-v"]) {
      expect(run(flag)).toEqual({ exitCode: 0, stdout: `mapped-file-arena ${manifest.version}\n`, stderr: "" });
    }
  });
});

describe("an unreadable FILE.shared (issue 8 item 8)", () => {
  // Before the fix inspect gave up with "permission denied" (exit 2) although the
  // arena itself is readable.
  function expectUnknownOpenState(result: ReturnType<typeof run>) {
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/open by a process\s+unknown/);
    expect(result.stdout).toMatch(/header\s+valid arena/);
  }

  test("a symlink loop in its place: open state unknown, the rest reported", () => {
    const path = makeArena("loop.arena");
    rmSync(`${path}.shared`);
    symlinkSync(`${path}.shared`, `${path}.shared`);
    expectUnknownOpenState(run("inspect", path));
  });

  test("no permission to read it: open state unknown, the rest reported", () => {
    // A folder others may enter, an arena others may read, a .shared they may not.
    const folder = tempDirectory("mfa-cli-unreadable-");
    chmodSync(folder, 0o755);
    const path = join(folder, "arena.bin");
    MappedFileRegionArena.create(path, { capacity: 1 << 20 }).close();
    chmodSync(path, 0o644);
    chmodSync(`${path}.shared`, 0o000);
    // Root reads anything: run the command as nobody then (setpriv, util-linux).
    const asUser = asOtherUserPrefix();
    const result = Bun.spawnSync([...asUser, process.execPath, bin, "inspect", path], { stdout: "pipe", stderr: "pipe", cwd: folder });
    expectUnknownOpenState({ exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() });
  });
});

// Issue 13, point 4: a script that handles the library's error codes handles the
// CLI's too. Each file is refused by create() and by verify --json with one code.
describe("the CLI and the library agree on the code of each fault", () => {
  const faults: [string, () => { path: string; headerOffset?: number }][] = [
    ["a text file", () => {
      const path = join(directory, "agree-notes.txt");
      writeFileSync(path, "These are my notes, which are certainly not an arena file.\n");
      return { path };
    }],
    ["a file too short for a header", () => {
      const path = join(directory, "agree-short.bin");
      writeFileSync(path, "tiny");
      return { path };
    }],
    ["a misaligned bump pointer", () => {
      const path = makeArena("agree-misaligned.arena");
      const bytes = readFileSync(path);
      bytes.writeBigUInt64LE(32n + 10n * 104n + 3n, 0);
      writeFileSync(path, bytes);
      return { path };
    }],
    ["a header at another offset", () => ({ path: makeArena("agree-offset.arena", { headerOffset: 64 }), headerOffset: 0 })],
    ["a directory", () => {
      const path = join(directory, "agree-directory");
      mkdirSync(path);
      return { path };
    }],
  ];
  for (const [name, make] of faults) {
    test(name, () => {
      const { path, headerOffset } = make();
      let libraryCode: unknown;
      try {
        MappedFileRegionArena.create(path, { capacity: 1 << 20, headerOffset: headerOffset ?? 0 }).close();
      } catch (error) {
        libraryCode = (error as { code?: unknown }).code;
      }
      expect(libraryCode).toMatch(/^ERR_ARENA_/);
      const offsetArgs = headerOffset === undefined ? [] : ["--header-offset", String(headerOffset)];
      const report = JSON.parse(run("verify", path, "--json", ...offsetArgs).stdout);
      expect(report.error?.code ?? report.validation?.code).toBe(libraryCode);
    });
  }
});

// What the in-process runs above cannot show: the bin script's exit codes and
// streams, and that an error is one line with no stack trace or uncaught-error banner.
describe("the bin script", () => {
  test("exits 0 with the result on stdout, 1 or 2 with one line on stderr", () => {
    const path = makeArena("bin.arena");
    expect(runBin("verify", path)).toMatchObject({ exitCode: 0, stderr: "" });
    expect(runBin("verify", path).stdout).toContain("valid arena");
    const notes = join(directory, "bin-notes.txt");
    writeFileSync(notes, "These are my notes, which are certainly not an arena file.\n");
    expectOneLineError(runBin("inspect", notes), 1, /bin-notes\.txt is not an arena file/);
    expectOneLineError(runBin("inspect", join(directory, "bin-nope.arena")), 2, /no such file$/);
    expectOneLineError(runBin("frobnicate"), 2, /unknown command "frobnicate"/);
    expect(runBin("--version").stdout).toMatch(/^mapped-file-arena \d+\.\d+\.\d+\n$/);
  }, 60_000);
});
