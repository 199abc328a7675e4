/**
 * Read-only opens beside an LLVM writer under the SAME name, when the reader
 * found no PATH.shared at open (a cache shipped without one). Review finding 1
 * of issue 13 item 2: the reader mapped the file's length and followed its
 * growth, but held no PATH.shared flock, so an LLVM closer (which knows nothing
 * of the inode lock) took PATH.shared exclusively, saw nobody, and shrank the
 * file under the reader: SIGBUS on a read that bytes() allowed.
 *
 * The fix (lib/arena/read-only.ts): a reader without PATH.shared never looks past
 * the bump pointer (every closer truncates to it), and takes PATH.shared as soon
 * as a writer has made one. The broken variant ("no-bump-bound") is the old
 * reader, and dies of SIGBUS in the same steps. The C peer speaks LLVM's
 * protocol (tests/arena/interop/llvm-style-peer.c); the reader is a child.
 */
import { describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { compileLlvmPeer, runLlvmPeer } from "../support/llvm-peer.ts";
import { lineReader, spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("arena-ro-llvm-");
const capacity = 4 * 1024 * 1024;

/**
 * The steps of the finding: a reader opens a closed arena that has no
 * PATH.shared; a Bun writer opens (making PATH.shared), allocates, and the reader
 * reads `size`; the writer closes; an LLVM writer under the same name opens and
 * closes; the reader reads every byte it may. Returns how the reader ended.
 */
async function readerBesideLlvmCloser(variant: "fixed" | "no-bump-bound") {
  const peer = compileLlvmPeer(directory);
  const path = freshPath(directory);
  {
    using arena = MappedFileRegionArena.create(path, { capacity });
    arena.allocate(64 * 1024).fill(1);
  }
  rmSync(`${path}.shared`); // shipped without one
  const closedBytes = statSync(path).size;
  const reader = spawnChild("read-only-arena-steps.ts", variant === "fixed" ? [path] : [path, variant]);
  const lines = lineReader(reader.stdout);
  const ask = async (step: string) => {
    reader.stdin.write(`${step}\n`);
    return JSON.parse(await lines.waitFor((line) => line.includes(`"step":"${step}"`), 60_000));
  };
  try {
    const atOpen = (await ask("open")).readableBytes;
    const writer = MappedFileRegionArena.create(path, { capacity });
    writer.allocate(64 * 1024).fill(2);
    const afterGrowth = await ask("size");
    writer.close();
    const llvm = await runLlvmPeer(peer, path, capacity, 0);
    expect(llvm.exitCode).toBe(0);
    const afterLlvm = statSync(path).size;
    reader.stdin.write("touch\n");
    reader.stdin.write("close\n");
    reader.stdin.end();
    await reader.exited;
    const stderr = await new Response(reader.stderr).text();
    return { closedBytes, atOpen, afterGrowth, afterLlvm, signal: reader.signalCode, exitCode: reader.exitCode, stderr };
  } finally {
    reader.kill("SIGKILL");
  }
}

describe("an LLVM writer under the same name, after a reader that found no PATH.shared (review finding 1)", () => {
  test("its last close does not shrink the file under the reader (no SIGBUS)", async () => {
    const seen = await readerBesideLlvmCloser("fixed");
    // At open the reader looks no further than the bump pointer (the file's length, here).
    expect(seen.atOpen).toBe(seen.closedBytes);
    // Once a writer made PATH.shared, the reader holds it and sees the whole file.
    expect(seen.afterGrowth.size).toBe(64 * 1024 * 2 + 32);
    expect(seen.afterGrowth.readableBytes).toBe(capacity);
    // So the LLVM closer was not alone and did not shrink; the reader read it all.
    expect({ afterLlvm: seen.afterLlvm, signal: seen.signal, exitCode: seen.exitCode, stderr: seen.stderr }).toEqual({
      afterLlvm: capacity,
      signal: null,
      exitCode: 0,
      stderr: "",
    });
  }, 90_000);

  test("broken variant (no bound without PATH.shared): the LLVM closer shrinks the file and the reader dies of SIGBUS", async () => {
    const seen = await readerBesideLlvmCloser("no-bump-bound");
    expect(seen.afterGrowth.readableBytes).toBe(capacity);
    expect(seen.afterLlvm).toBeLessThan(capacity);
    expect(seen.signal).toBe("SIGBUS");
  }, 90_000);
});
