/**
 * Issue 8 review of closeArena (lib/arena/protocol.ts): a closer that is not the last
 * drops its in-use locks (InUseLocks.tryAlone releases them first) and only then
 * unmaps, which is where windows taken by a transfer are replaced with zero
 * pages. In between, another process can be the last closer and shrink the file;
 * a reader of the taken buffer (a Worker, a stream consumer) then dies of SIGBUS.
 * The race is made certain by a hook on the victim's first detach.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedChildren } from "../../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-close-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

test("issue 8 review: a closer replaces its mapping with zero pages before it drops its in-use locks, so another process's last close cannot shrink the file under a taken buffer (no SIGBUS)", async () => {
  const path = join(directory, "window.arena");
  const script = join(isolatedChildren, "close-window.ts");
  const victim = Bun.spawn([process.execPath, script, "victim", path], { stdout: "pipe", stderr: "pipe" });
  // The victim creates the file; the holder opens it after.
  await Bun.sleep(50);
  const holder = Bun.spawn([process.execPath, script, "holder", path], { stdout: "pipe", stderr: "pipe" });
  const reader = holder.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("open");
  writeFileSync(`${path}.holder-open`, "");
  const [victimOut] = await Promise.all([new Response(victim.stdout).text(), victim.exited, holder.exited]);
  expect(victimOut).toContain('"holderClosed":true');
  expect(victim.signalCode).toBeNull();
  expect(victimOut).toContain('"survived":true');
}, 60_000);
