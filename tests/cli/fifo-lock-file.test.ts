/**
 * Issue 8 review of lib/cli/inspect.ts: inspect and verify must answer about any path,
 * change nothing, and never hang. FILE.shared is opened read-only and blocking
 * to probe "open by a process"; a FIFO there blocks that open forever.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { cliPath, runBun } from "../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-cli-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

for (const command of ["inspect", "verify"]) {
  test(`issue 8 review: ${command} answers at once when FILE.shared is a FIFO (opened non-blocking, reported as unknown)`, async () => {
    const path = join(directory, `${command}.arena`);
    const arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
    arena.append(new Uint8Array(10));
    arena.close();
    rmSync(`${path}.shared`, { force: true });
    expect(Bun.spawnSync(["mkfifo", `${path}.shared`]).exitCode).toBe(0);
    const result = await runBun(cliPath, [command, path, "--json"], 8_000);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    expect(statSync(`${path}.shared`).isFIFO()).toBe(true);
  }, 40_000);
}
