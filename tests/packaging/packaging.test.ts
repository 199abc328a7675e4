// What a user gets from `bun add mapped-file-arena`: the package tarball, installed
// into a fresh project with no Zig and no Python on PATH and no registry reachable,
// must open an arena with the prebuilt shim for this machine; and every prebuilt
// shim in the tarball must be a shared library for the platform its folder names
// (ELF, Mach-O or PE headers read below).
//
// The tarball is made with `bun pm pack`, whose prepack step (`bun run build:all`)
// builds prebuilds/ with Zig; Zig is needed here, on the packing side only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libraryFileName, platformName, supportedPlatforms } from "../../lib/native/library-path.ts";
import { documentationFiles } from "../docs/markdown.ts";

const repositoryRoot = join(import.meta.dir, "..", "..");
let workspace: string;
let tarball: string;
let project: string;
/** PATH for the consumer: a folder holding only `bun`. */
let bareBin: string;

function consumerEnvironment(): Record<string, string> {
  return {
    HOME: workspace,
    PATH: bareBin,
    TMPDIR: workspace,
    // No registry: an install that needed the network would fail, not hang.
    BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/",
    NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
    BUN_INSTALL_CACHE_DIR: join(workspace, "bun-cache"),
    NO_COLOR: "1",
    // Under arm64 emulation (scripts/test-on-bun.ts), where qemu finds the arm64 C library.
    ...(process.env.QEMU_LD_PREFIX ? { QEMU_LD_PREFIX: process.env.QEMU_LD_PREFIX } : {}),
  };
}

function run(command: string[], cwd: string, env?: Record<string, string>) {
  const result = Bun.spawnSync(command, { cwd, env: env ?? consumerEnvironment(), stdout: "pipe", stderr: "pipe" });
  const output = { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  if (output.exitCode !== 0) console.error(`${command.join(" ")} in ${cwd}:\n${output.stdout}${output.stderr}`);
  return output;
}

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), "mfa-packaging-"));
  const packed = join(workspace, "packed");
  mkdirSync(packed);
  const pack = run([process.execPath, "pm", "pack", "--destination", packed], repositoryRoot, process.env as Record<string, string>);
  expect(pack.exitCode).toBe(0);
  const [name] = readdirSync(packed).filter((file) => file.endsWith(".tgz"));
  tarball = join(packed, name!);
  // The shims as the tarball carries them, for the header checks below.
  mkdirSync(join(workspace, "extracted"));
  expect(run(["tar", "-xzf", tarball, "-C", join(workspace, "extracted")], workspace, process.env as Record<string, string>).exitCode).toBe(0);

  bareBin = join(workspace, "bin");
  mkdirSync(bareBin);
  symlinkSync(process.execPath, join(bareBin, "bun"));

  project = join(workspace, "fresh-project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fresh-project", private: true, type: "module" }));
}, 120_000);

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
});

describe("the tarball", () => {
  test("holds the library, the bin, the docs, and a shim for every platform, and nothing from the checkout's builds", () => {
    const listing = run(["tar", "-tzf", tarball], workspace, process.env as Record<string, string>).stdout.split("\n");
    for (const file of ["package/lib/index.ts", "package/lib/native/native.ts", "package/bin/mapped-file-arena.ts", "package/package.json"]) {
      expect(listing).toContain(file);
    }
    for (const platform of supportedPlatforms) {
      expect(listing).toContain(`package/prebuilds/${platform}/${libraryFileName(platform)}`);
    }
    // A DLL alone: no import library or debug database beside it.
    expect(listing.filter((file) => /\.(lib|pdb)$/.test(file))).toEqual([]);
    // The README's links into docs/ must work on npm too (tests/docs/links.test.ts checks every link's target is shipped).
    for (const document of documentationFiles()) expect(listing).toContain(`package/${document}`);
    expect(listing.filter((file) => /zig-out|\.zig-cache|tests\//.test(file))).toEqual([]);
  });
});

/** README's `bun build --compile` recipe: with `embed`, the shim is embedded in the executable. */
function compileRecipe(embed: boolean): string {
  const platform = platformName();
  return (
    `${embed ? `import shim from "mapped-file-arena/prebuilds/${platform}/${libraryFileName(platform)}" with { type: "file" };\n` : ""}` +
    `import { MappedFileRegionArena } from "mapped-file-arena";\n` +
    `${embed ? `process.env.MAPPED_FILE_ARENA_LIBRARY ??= shim;\n` : ""}` +
    `using arena = MappedFileRegionArena.create(process.argv[2]!, { capacity: 1 << 20 });\n` +
    `console.log("appended at", arena.append(new Uint8Array([1, 2, 3])));\n`
  );
}

describe("a fresh project with no Zig", () => {
  test("the consumer's PATH has bun and no zig or python", () => {
    for (const tool of ["zig", "python3", "python"]) expect(Bun.which(tool, { PATH: bareBin })).toBeNull();
    expect(Bun.which("bun", { PATH: bareBin })).not.toBeNull();
  });

  test("`bun add ./tarball` installs offline, and an arena round-trips through the prebuilt shim", () => {
    const add = run(["bun", "add", tarball], project);
    expect(add.exitCode).toBe(0);
    const installed = join(project, "node_modules", "mapped-file-arena");
    expect(existsSync(join(installed, "prebuilds", platformName()))).toBe(true);
    // Only the prebuilt shim can be what loads: there is no local build to fall back on.
    expect(existsSync(join(installed, "zig-out"))).toBe(false);

    writeFileSync(
      join(project, "round-trip.ts"),
      `import { MappedFileRegionArena } from "mapped-file-arena";
const path = process.argv[2]!;
const records = ["first", "second", "third"].map((text) => new TextEncoder().encode(text));
const offsets: number[] = [];
{
  using arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
  for (const record of records) offsets.push(arena.append(record));
}
{
  using arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
  const texts = offsets.map((offset, index) => new TextDecoder().decode(arena.bytes(offset, records[index]!.length)));
  console.log(JSON.stringify({ offsets, size: arena.size, texts }));
}
`,
    );
    const arenaPath = join(project, "data.arena");
    const roundTrip = run(["bun", "round-trip.ts", arenaPath], project);
    expect(roundTrip.exitCode).toBe(0);
    expect(JSON.parse(roundTrip.stdout)).toEqual({ offsets: [32, 40, 48], size: 56, texts: ["first", "second", "third"] });

    // The bin is linked and runs with nothing but bun on PATH.
    const verify = run([join(project, "node_modules", ".bin", "mapped-file-arena"), "verify", arenaPath], project);
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout).toContain("valid arena, 56 B");
  }, 30_000);

  test("a `bun build --compile` executable works when it embeds the shim, and says what to do when it does not", () => {
    const platform = platformName();
    // Run from a folder with no node_modules, as a shipped executable is.
    const elsewhere = join(workspace, "elsewhere");
    mkdirSync(elsewhere, { recursive: true });
    for (const embed of [true, false]) {
      const label = embed ? "embedded" : "plain";
      writeFileSync(join(project, `${label}.ts`), compileRecipe(embed));
      const executable = join(elsewhere, label);
      expect(run(["bun", "build", "--compile", `${label}.ts`, "--outfile", executable], project).exitCode).toBe(0);
      const result = Bun.spawnSync([executable, join(elsewhere, `${label}.arena`)], { cwd: elsewhere, env: consumerEnvironment(), stderr: "pipe", stdout: "pipe" });
      if (embed) {
        expect(result.stdout.toString()).toBe("appended at 32\n");
        expect(result.exitCode).toBe(0);
      } else {
        expect(result.exitCode).not.toBe(0);
        expect(result.stderr.toString()).toContain(`no native library for ${platform} in this compiled executable`);
      }
    }
  }, 30_000);
});

// ---- Types under the user's tsconfig -----------------------------------------
//
// Issue 13, point 1: the package ships declarations (types/, built by prepack), so
// TypeScript in the user's project reads them instead of checking the library's
// sources under the user's settings. Each tsconfig below failed on the sources
// (TS5097 .ts import paths under NodeNext, TS2550 ArrayBuffer.detached under lib
// ES2022, TS1294 parameter properties under erasableSyntaxOnly); each must now
// be clean, with skipLibCheck off where the user's own settings allow it.

const userTsconfigs: Record<string, Record<string, unknown>> = {
  // What `bun init` writes (Bun 1.4.5), as it writes it.
  "bun-init": {
    lib: ["ESNext"], target: "ESNext", module: "Preserve", moduleDetection: "force", jsx: "react-jsx", allowJs: true,
    types: ["bun"], moduleResolution: "bundler", allowImportingTsExtensions: true, verbatimModuleSyntax: true, noEmit: true,
    strict: true, skipLibCheck: true, noFallthroughCasesInSwitch: true, noUncheckedIndexedAccess: true, noImplicitOverride: true,
    noUnusedLocals: false, noUnusedParameters: false, noPropertyAccessFromIndexSignature: false,
  },
  nodenext: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: false, types: [] },
  "bundler-erasable": {
    module: "Preserve", moduleResolution: "bundler", target: "ESNext", erasableSyntaxOnly: true, verbatimModuleSyntax: true,
    strict: true, noEmit: true, skipLibCheck: false, types: [],
  },
  "lib-es2022": {
    module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2022"], strict: true, noEmit: true,
    skipLibCheck: false, types: [],
  },
};

/** Uses the whole public API, and nothing of the runtime, so that it checks under `types: []` too. */
function apiConsumer(): string {
  return `import { ArenaError, BlockAllocator, MappedFileRegionArena, type ArenaErrorCode, type ArenaOptions } from "mapped-file-arena";
import shim from "mapped-file-arena/prebuilds/${platformName()}/${libraryFileName()}" with { type: "file" };

export const shimPath: string = shim;
const options: ArenaOptions = { capacity: 1 << 20, headerOffset: 8, onCreate: (arena) => arena.append(Uint8Array.of(1)) };
export function roundTrip(path: string): number {
  using arena = MappedFileRegionArena.create(path, options);
  const offset = arena.append(Uint8Array.of(104, 105));
  using block: BlockAllocator = arena.blockAllocator(4096);
  return offset + arena.bytes(offset, 2).length + block.allocateOffset(16) + MappedFileRegionArena.alignment;
}
export function codeOf(error: unknown): ArenaErrorCode | undefined {
  return error instanceof ArenaError ? error.code : undefined;
}
export function isFull(error: ArenaError): boolean {
  // @ts-expect-error: a misspelt code does not type-check (ArenaErrorCode is a closed list)
  if (error.code === "ERR_ARENA_FUL") return true;
  return error.code === "ERR_ARENA_FULL" || error.code === "ERR_CAS_CORRUPT" || error.code === "ENOSPC" || error.code === "E1234";
}
`;
}

describe("the declarations", () => {
  test("the tarball ships them, and its exports point TypeScript at them", () => {
    const listing = run(["tar", "-tzf", tarball], workspace, process.env as Record<string, string>).stdout.split("\n");
    for (const file of ["package/types/index.d.ts", "package/types/arena/arena.d.ts", "package/types/prebuilt.d.ts"]) {
      expect(listing).toContain(file);
    }
    const manifest = JSON.parse(readFileSync(join(workspace, "extracted", "package", "package.json"), "utf8"));
    expect(manifest.exports["."].types).toBe("./types/index.d.ts");
    expect(manifest.exports["./prebuilds/*"].types).toBe("./types/prebuilt.d.ts");
  });

  test("a consumer type-checks clean under bun init's tsconfig, NodeNext, bundler with erasableSyntaxOnly, and lib ES2022", async () => {
    const checked = join(workspace, "typed-project");
    mkdirSync(join(checked, "node_modules", "@types"), { recursive: true });
    writeFileSync(join(checked, "package.json"), JSON.stringify({ name: "typed-project", private: true, type: "module" }));
    expect(run(["bun", "add", tarball], checked).exitCode).toBe(0);
    // Bun's and Node's types, for bun init's `types: ["bun"]`: the checkout's copies, as no registry is reachable.
    for (const name of ["@types/bun", "@types/node", "bun-types", "undici-types"]) {
      symlinkSync(join(repositoryRoot, "node_modules", name), join(checked, "node_modules", name));
    }
    writeFileSync(join(checked, "consumer.ts"), apiConsumer());
    writeFileSync(join(checked, "embedded.ts"), compileRecipe(true));
    const tsc = join(repositoryRoot, "node_modules", "typescript", "bin", "tsc");
    // What type-checks is the declarations, not the runtime: Node where there is one
    // (native and fast even when this Bun is emulated, see scripts/test-on-bun.ts).
    const runtime = Bun.which("node") ?? process.execPath;
    const problems = await Promise.all(
      Object.entries(userTsconfigs).map(async ([name, compilerOptions]) => {
        // The compile recipe uses Bun's globals (process): only where the user has Bun's types.
        const files = name === "bun-init" ? ["consumer.ts", "embedded.ts"] : ["consumer.ts"];
        writeFileSync(join(checked, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions, files }));
        const child = Bun.spawn([runtime, tsc, "-p", `tsconfig.${name}.json`], {
          cwd: checked, env: consumerEnvironment(), stdout: "pipe", stderr: "pipe",
        });
        const output = (await new Response(child.stdout).text()) + (await new Response(child.stderr).text());
        const exitCode = await child.exited;
        return exitCode === 0 && output.trim() === "" ? [] : [`${name}: exit ${exitCode}\n${output.trim()}`];
      }),
    );
    expect(problems.flat()).toEqual([]);
  }, 120_000);
});

// ---- Reading the prebuilt files' headers -------------------------------------

const elfMachine = { x64: 62, arm64: 183 } as const; // EM_X86_64, EM_AARCH64
const machOCpuType = { x64: 0x01000007, arm64: 0x0100000c } as const; // CPU_TYPE_X86_64, CPU_TYPE_ARM64
const peMachine = { x64: 0x8664, arm64: 0xaa64 } as const; // IMAGE_FILE_MACHINE_AMD64, _ARM64
const ET_DYN = 3;
const MH_MAGIC_64 = 0xfeedfacf;
const MH_DYLIB = 6;

interface ElfFacts {
  elfClass: number;
  littleEndian: boolean;
  type: number;
  machine: number;
  interpreter: string | undefined;
  needed: string[];
}

/** The ELF header, PT_INTERP and the DT_NEEDED list of a 64-bit little-endian file. */
function readElf(bytes: Uint8Array): ElfFacts {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (offset: number) => new TextDecoder().decode(bytes.subarray(offset, bytes.indexOf(0, offset)));
  const phoff = Number(view.getBigUint64(32, true));
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  const segments = Array.from({ length: phnum }, (_, index) => {
    const base = phoff + index * phentsize;
    return {
      type: view.getUint32(base, true),
      offset: Number(view.getBigUint64(base + 8, true)),
      vaddr: Number(view.getBigUint64(base + 16, true)),
      filesz: Number(view.getBigUint64(base + 32, true)),
    };
  });
  const PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, DT_NULL = 0, DT_NEEDED = 1, DT_STRTAB = 5;
  const fileOffset = (address: number) => {
    const load = segments.find((s) => s.type === PT_LOAD && address >= s.vaddr && address < s.vaddr + s.filesz)!;
    return address - load.vaddr + load.offset;
  };
  const interp = segments.find((s) => s.type === PT_INTERP);
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  const needed: number[] = [];
  let strtab = 0;
  if (dynamic) {
    for (let at = dynamic.offset; at < dynamic.offset + dynamic.filesz; at += 16) {
      const tag = Number(view.getBigInt64(at, true));
      const value = Number(view.getBigUint64(at + 8, true));
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) needed.push(value);
      if (tag === DT_STRTAB) strtab = fileOffset(value);
    }
  }
  return {
    elfClass: bytes[4]!,
    littleEndian: bytes[5] === 1,
    type: view.getUint16(16, true),
    machine: view.getUint16(18, true),
    interpreter: interp ? text(interp.offset) : undefined,
    needed: needed.map((name) => text(strtab + name)),
  };
}

interface PeFacts {
  machine: number;
  isDll: boolean;
  /** 0x20b: PE32+, a 64-bit image. */
  optionalMagic: number;
  /** The DLLs it imports from, lower case. */
  imports: string[];
  exports: string[];
}

/** The COFF header, the import directory's DLL names and the export names of a PE file. */
function readPe(bytes: Uint8Array): PeFacts {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (offset: number) => new TextDecoder().decode(bytes.subarray(offset, bytes.indexOf(0, offset)));
  const pe = view.getUint32(0x3c, true);
  if (view.getUint32(pe, true) !== 0x00004550) throw new Error("no PE signature"); // "PE\0\0"
  const coff = pe + 4;
  const sectionCount = view.getUint16(coff + 2, true);
  const optional = coff + 20;
  const optionalSize = view.getUint16(coff + 16, true);
  const sections = Array.from({ length: sectionCount }, (_, index) => {
    const base = optional + optionalSize + index * 40;
    return { address: view.getUint32(base + 12, true), size: view.getUint32(base + 8, true), raw: view.getUint32(base + 20, true) };
  });
  const fileOffset = (rva: number) => {
    const section = sections.find((s) => rva >= s.address && rva < s.address + s.size)!;
    return rva - section.address + section.raw;
  };
  const directory = (index: number) => view.getUint32(optional + 112 + index * 8, true); // PE32+ data directories
  const exports: string[] = [];
  if (directory(0) !== 0) {
    const table = fileOffset(directory(0));
    const count = view.getUint32(table + 24, true);
    const names = fileOffset(view.getUint32(table + 32, true));
    for (let index = 0; index < count; index++) exports.push(text(fileOffset(view.getUint32(names + index * 4, true))));
  }
  const imports: string[] = [];
  if (directory(1) !== 0) {
    for (let entry = fileOffset(directory(1)); view.getUint32(entry + 12, true) !== 0; entry += 20) {
      imports.push(text(fileOffset(view.getUint32(entry + 12, true))).toLowerCase());
    }
  }
  const IMAGE_FILE_DLL = 0x2000;
  return {
    machine: view.getUint16(coff, true),
    isDll: (view.getUint16(coff + 18, true) & IMAGE_FILE_DLL) !== 0,
    optionalMagic: view.getUint16(optional, true),
    imports,
    exports,
  };
}

describe("every prebuilt shim in the tarball", () => {
  for (const platform of supportedPlatforms) {
    const [os, arch, libc] = platform.split("-") as ["linux" | "darwin" | "win32", "x64" | "arm64", "gnu" | "musl" | undefined];
    test(`${platform} is a shared library for ${arch}`, () => {
      const bytes = new Uint8Array(readFileSync(join(workspace, "extracted", "package", "prebuilds", platform, libraryFileName(platform))));
      const view = new DataView(bytes.buffer);
      if (os === "win32") {
        expect(String.fromCharCode(bytes[0]!, bytes[1]!)).toBe("MZ");
        const pe = readPe(bytes);
        expect(pe.machine).toBe(peMachine[arch]);
        expect(pe.isDll).toBe(true);
        expect(pe.optionalMagic).toBe(0x20b);
        // Nothing to install beside it: no C runtime, only the system's kernel32.
        expect(pe.imports).toEqual(["kernel32.dll"]);
        expect(pe.exports).toContain("mfa_open");
        expect(pe.exports).toContain("mfa_set_sparse");
        return;
      }
      if (os === "darwin") {
        expect(view.getUint32(0, true)).toBe(MH_MAGIC_64);
        expect(view.getUint32(4, true)).toBe(machOCpuType[arch]);
        expect(view.getUint32(12, true)).toBe(MH_DYLIB);
        return;
      }
      expect(Array.from(bytes.subarray(0, 4))).toEqual([0x7f, 0x45, 0x4c, 0x46]); // "\x7fELF"
      const elf = readElf(bytes);
      expect(elf.elfClass).toBe(2); // 64-bit
      expect(elf.littleEndian).toBe(true);
      expect(elf.type).toBe(ET_DYN);
      expect(elf.machine).toBe(elfMachine[arch]);
      // A shared library has no interpreter; the C library it links names the libc.
      expect(elf.interpreter).toBeUndefined();
      if (libc === "gnu") {
        expect(elf.needed).toContain("libc.so.6");
      } else {
        expect(elf.needed).toContain("libc.so");
        expect(elf.needed.filter((needed) => needed.includes("libc.so.6") || needed.includes("libpthread"))).toEqual([]);
      }
    });
  }
});
