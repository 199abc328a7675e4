// The README's TypeScript examples run as written, against this checkout's lib/:
// each block is saved as a script in an empty folder (its import of
// "mapped-file-arena" pointed at lib/index.ts, the package's entry point), run in a
// child process, and must exit 0 with nothing on stderr, print what its comments
// promise, and run again over the files its first run left (every example opens
// existing files the same way it creates them).
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirectory } from "../support/temp.ts";
import { codeBlocks, readDocument, repositoryRoot } from "./markdown.ts";

const workspace = tempDirectory("readme-examples-");
const entryPoint = join(repositoryRoot, "lib", "index.ts");
const blocks = codeBlocks(readDocument("README.md"), "ts");

/** What each example must print, recognized by what it uses; every block must have one. */
const expectations: { uses: string; prints: RegExp }[] = [
  { uses: "MappedFileRegionArena.create(", prints: /^hello\n$/ },
  { uses: "OnDiskTrieRawHashMap.create(", prints: /\[ 7, 7, 7, 7, 7, 7, 7, 7 \]/ },
  { uses: "RecordLog.open(", prints: /^\d+ started\n/ },
  { uses: "import {", prints: /^$/ }, // the import of every export: it must resolve
];

function runScript(directory: string, script: string) {
  const result = Bun.spawnSync([process.execPath, script], { cwd: directory, stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

test("the README has TypeScript examples, and each imports the package", () => {
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  for (const block of blocks) expect(block).toContain('from "mapped-file-arena"');
});

describe.each(blocks.map((block, index) => [index, block] as const))("README example %d", (index, block) => {
  test("runs, prints what it says, and runs again over its own files", () => {
    const expectation = expectations.find(({ uses }) => block.includes(uses));
    expect(expectation).toBeDefined();
    const directory = join(workspace, `example-${index}`);
    mkdirSync(directory);
    writeFileSync(join(directory, "example.ts"), block.replaceAll('from "mapped-file-arena"', `from ${JSON.stringify(entryPoint)}`));
    for (const run of [1, 2]) {
      const result = runScript(directory, "example.ts");
      expect({ run, ...result }).toMatchObject({ run, stderr: "", exitCode: 0 });
      expect(result.stdout).toMatch(expectation!.prints);
    }
  }, 60_000);
});
