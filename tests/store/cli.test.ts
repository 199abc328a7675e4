// `mapped-file-arena cas stats|validate|gc DIR`, through the real bin script.
import { expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore, RecordLog } from "../../lib/index.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes } from "./support.ts";

const root = tempDirectory("store-cli-");
const bin = join(import.meta.dir, "..", "..", "bin", "mapped-file-arena.ts");

function cli(...args: string[]) {
  const result = Bun.spawnSync([process.execPath, bin, ...args]);
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

test("stats, validate and gc on a healthy store, then on a damaged one", () => {
  const directory = join(root, "store");
  let large: string;
  {
    using store = ContentStore.open(directory);
    store.put(objectBytes(1, 1000));
    large = store.put(objectBytes(2, 100_000));
  }
  const stats = cli("cas", "stats", directory, "--json");
  expect(stats.exitCode).toBe(0);
  const report = JSON.parse(stats.stdout);
  expect(report.generations[0].largeObjectBytes).toBe(100_000);
  expect(report.diskBytes).toBeGreaterThan(100_000);
  expect(cli("cas", "stats", directory).stdout).toContain("v1.0 (primary)");

  const valid = cli("cas", "validate", directory, "--deep");
  expect(valid.exitCode).toBe(0);
  expect(valid.stdout).toContain("2 objects, 0 action entries checked (deep): valid");

  // A dead writer's temporary file, then an old generation nobody holds: gc removes each.
  const temporary = `leaf.${large}.999999999.1.tmp`;
  writeFileSync(join(directory, "v1.0", temporary), "partial");
  expect(JSON.parse(cli("cas", "gc", directory, "--json").stdout).removed).toEqual([join("v1.0", temporary)]);
  mkdirSync(join(directory, "v1.1"));
  mkdirSync(join(directory, "v1.2"));
  expect(cli("cas", "gc", directory).stdout).toBe("removed 1\n  v1.0\n");
});

test("validate exits 1 with one line per problem", () => {
  const directory = join(root, "damaged");
  let large: string;
  {
    using store = ContentStore.open(directory);
    large = store.put(objectBytes(3, 100_000));
  }
  rmSync(join(directory, "v1.0", `leaf.${large}`));
  const result = cli("cas", "validate", directory);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toContain("1 problems");
  expect(result.stderr).toContain(`leaf.${large} is missing`);
});

test("usage errors exit 2 with one line and the usage", () => {
  expect(cli("cas").exitCode).toBe(2);
  expect(cli("cas", "frobnicate", root).stderr).toContain('unknown cas command "frobnicate"');
  expect(cli("cas", "stats").stderr).toContain("cas stats needs a DIR");
  const missing = cli("cas", "stats", join(root, "nope"));
  expect(missing.exitCode).toBe(2);
  expect(missing.stderr).toBe(`mapped-file-arena: ${join(root, "nope")}: no such directory\n`);
  // One of the library's files where the store should be is named as what it is.
  const log = join(root, "a.log");
  RecordLog.open(log, { capacity: 1024 * 1024 }).close();
  const notADirectory = `mapped-file-arena: ${log} is not a directory: a content store is a directory (of generations), and ${log} is a record log (RecordLog)\n`;
  for (const command of ["stats", "validate", "push"]) {
    const result = cli("cas", command, log, ...(command === "push" ? ["--remote", "http://127.0.0.1:9"] : []));
    expect({ command, exitCode: result.exitCode, stderr: result.stderr }).toEqual({ command, exitCode: 2, stderr: notADirectory });
  }
  expect(cli("--help").stdout).toContain("cas stats DIR");
});
