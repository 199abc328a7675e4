/**
 * Review of issue 13 item 2 (read-only opens): a reader that found no PATH.shared
 * is not protected from an LLVM writer under the SAME name.
 *
 * docs/read-only.md ("Safety against writers") names two holes: macOS / Linux
 * before 3.15, and LLVM writers under ANOTHER name. DESIGN.md: "With PATH.shared
 * held, no LLVM writer under this name can either". But a reader holds
 * PATH.shared only if it existed (and was readable) when it opened: a shipped
 * cache without one (the case tests/arena/read-only.test.ts itself makes, "a
 * shipped cache may come without one") gets one from the first writer, and an
 * LLVM closer under the same name then takes it exclusively, sees nobody, and
 * shrinks the file under the reader's mapping, which reaches to the capacity
 * since the reader followed the file's growth. The reader dies of SIGBUS on a
 * read that bytes() allowed (inside readableBytes). The C peer speaks LLVM's
 * protocol (tests/arena/interop/llvm-style-peer.c); the reader is a child.
 */
import { describe, expect, test } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { compileLlvmPeer, runLlvmPeer } from "../../support/llvm-peer.ts";
import { lineReader, spawnChild } from "../../support/processes.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("review-ro-llvm-");
const capacity = 4 * 1024 * 1024;

describe("an LLVM writer under the same name, after a reader that found no PATH.shared", () => {
  test("its last close does not shrink the file under the reader (no SIGBUS)", async () => {
    const peer = compileLlvmPeer(directory);
    const path = freshPath(directory);
    {
      using arena = MappedFileRegionArena.create(path, { capacity });
      arena.allocate(64 * 1024).fill(1);
    }
    rmSync(`${path}.shared`); // shipped without one
    const closedBytes = statSync(path).size;

    const reader = spawnChild("../../review/read-only/children/reader-steps.ts", [path]);
    const lines = lineReader(reader.stdout);
    const ask = async (step: string) => {
      reader.stdin.write(`${step}\n`);
      return JSON.parse(await lines.waitFor((line) => line.includes(`"step":"${step}"`), 60_000));
    };
    try {
      expect((await ask("open")).readableBytes).toBe(closedBytes);
      // A Bun writer opens (creating PATH.shared, growing the file), allocates, and
      // closes; the reader meanwhile follows the growth, as docs/read-only.md says.
      const writer = MappedFileRegionArena.create(path, { capacity });
      writer.allocate(64 * 1024).fill(2);
      expect((await ask("size")).readableBytes).toBe(capacity);
      writer.close();
      expect(statSync(path).size).toBe(capacity); // the reader's inode lock kept it
      // Now an LLVM writer under the same name opens and closes.
      const llvm = await runLlvmPeer(peer, path, capacity, 0);
      expect(llvm.exitCode).toBe(0);
      const afterLlvm = statSync(path).size;
      reader.stdin.write("touch\n");
      reader.stdin.write("close\n");
      reader.stdin.end();
      await reader.exited;
      const stderr = await new Response(reader.stderr).text();
      expect({ afterLlvm, signal: reader.signalCode, exitCode: reader.exitCode }).toEqual({ afterLlvm: capacity, signal: null, exitCode: 0 });
      expect(stderr).toBe("");
    } finally {
      reader.kill("SIGKILL");
    }
  }, 90_000);
});
