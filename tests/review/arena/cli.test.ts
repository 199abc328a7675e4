/**
 * Review of lib/cli/inspect.ts: inspect and verify must answer about any path,
 * change nothing, and never hang. FILE.shared is opened read-only and blocking
 * to probe "open by a process"; a FIFO there blocks that open forever.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { cliPath, runBun } from "./support.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-review-cli-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

for (const command of ["inspect", "verify"]) {
  test(`${command} hangs forever when FILE.shared is a FIFO (blocking O_RDONLY open in probeOpenState)`, async () => {
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
