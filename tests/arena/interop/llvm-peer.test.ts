/**
 * Byte and lock compatibility with LLVM's MappedFileRegionArena, shown against an
 * independent implementation of its protocol: llvm-style-peer.c, a C program that
 * does to the file what an LLVM process does (flock on PATH.shared and PATH, a
 * 64-bit fetch_add on bumpPtr, the last closer shrinks). Bun and C processes
 * create, reopen and allocate in one file, at the same moment.
 *
 * Broken variant caught: the peer in MODE "racy" (plain load and store of
 * bumpPtr instead of fetch_add): the same checker then finds overlapping and
 * overwritten allocations between the C and the Bun processes (observed, three
 * runs: 185, 198 and 71 problems, 31-91 of them overlaps, bumpPtr 3-8 KiB short).
 * Nothing here depends on timing: the processes start on a barrier, meet at a
 * checkpoint every 1000 allocations (so C and Bun allocations interleave in the
 * file for certain), and the racy peers' first bumps meet between load and store
 * (so the lost update is certain); see tests/support/barrier.ts.
 *
 * Needs a C compiler (`cc`); without one the test fails and says so.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { checkAllocations, fillStamp, parseRecords, type AllocationRecord } from "../../support/allocations.ts";
import { barrier, testHeaderOffset } from "../../support/barrier.ts";
import type { AllocateJob } from "../../support/children/allocate-core.ts";
import { finished, spawnChild, type ChildResult } from "../../support/processes.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";
import { compileLlvmPeer } from "../../support/llvm-peer.ts";

const directory = tempDirectory("arena-interop-");
let peer: string;
const MiB = 1024 * 1024;
const capacity = 64 * MiB;

beforeAll(() => {
  peer = compileLlvmPeer(directory);
});

/** The race's four processes meet at a checkpoint every this many allocations. */
const raceCheckpoints = { every: 1000, participants: 4 };

interface PeerJob {
  path: string;
  count: number;
  tag: number;
  maxSize?: number;
  mode?: "atomic" | "racy";
  /** Take part in the race's rendezvous (the file's header is then at testHeaderOffset). */
  rendezvous?: boolean;
}

function startPeer({ path, count, tag, maxSize = 200, mode = "atomic", rendezvous = false }: PeerJob) {
  const headerOffset = rendezvous ? testHeaderOffset : 0;
  const meet = rendezvous ? [raceCheckpoints.participants, raceCheckpoints.every] : [];
  const args = [path, capacity, headerOffset, count, tag, maxSize, tag * 7919 + 1, mode, ...meet].map(String);
  return Bun.spawn([peer, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
}

async function peerRecords(process: ReturnType<typeof startPeer>): Promise<AllocationRecord[]> {
  const [stdout, stderr] = await Promise.all([new Response(process.stdout).text(), new Response(process.stderr).text()]);
  if ((await process.exited) !== 0) throw new Error(`C peer failed: ${stderr}`);
  return parseRecords(stdout);
}

function bunJob(path: string, tag: number, count: number) {
  const job: AllocateJob = { path, capacity, count, tag, seed: tag, maxSize: 200, mode: "atomic", instances: 1, checkpoints: raceCheckpoints };
  return spawnChild("allocator.ts", [JSON.stringify(job)]);
}

function bunRecords(result: ChildResult): AllocationRecord[] {
  if (result.exitCode !== 0) throw new Error(`Bun child failed: ${result.stderr}`);
  return parseRecords(result.stdout);
}

/** The file after everyone closed: shrunk to bumpPtr, every allocation intact. */
function checkFile(path: string, records: AllocationRecord[], headerOffset = 0): string[] {
  const file = new Uint8Array(readFileSync(path));
  const bumpPtr = Number(new DataView(file.buffer).getBigUint64(headerOffset, true));
  const headerEnd = headerOffset + 32;
  const problems = checkAllocations(file, records, headerEnd, bumpPtr, Number.POSITIVE_INFINITY);
  if (file.length !== bumpPtr) problems.push(`file is ${file.length} bytes, bumpPtr is ${bumpPtr}: not shrunk by the last close`);
  const total = headerEnd + records.reduce((sum, record) => sum + Math.ceil(record.size / 8) * 8, 0);
  if (bumpPtr !== total) problems.push(`bumpPtr ${bumpPtr} != header end + rounded sizes ${total}`);
  return problems;
}

describe("a C peer speaking LLVM's protocol", () => {
  test("creates a file that Bun opens, appends to and that the peer reopens", async () => {
    const path = freshPath(directory);
    const records = await peerRecords(startPeer({ path, count: 50, tag: 1 }));
    expect(records).toHaveLength(50);
    expect(records[0]!.offset).toBe(32);

    const shrunk = statSync(path).size; // the peer's last close shrank it to bumpPtr
    const arena = MappedFileRegionArena.create(path, { capacity: 4096 }); // the stored capacity wins
    expect(arena.capacity).toBe(capacity);
    expect(arena.size).toBe(shrunk);
    expect(shrunk).toBe(records.at(-1)!.offset + Math.ceil(records.at(-1)!.size / 8) * 8);
    const offset = arena.allocateOffset(100);
    fillStamp(arena.bytes(offset, 100), 2, 0);
    records.push({ offset, size: 100, tag: 2, sequence: 0 });
    arena.close();

    records.push(...(await peerRecords(startPeer({ path, count: 50, tag: 3 }))));
    expect(checkFile(path, records)).toEqual([]);
  });

  test("opens a file that Bun created", async () => {
    const path = freshPath(directory);
    const arena = MappedFileRegionArena.create(path, { capacity });
    const offset = arena.allocateOffset(64);
    fillStamp(arena.bytes(offset, 64), 5, 0);
    arena.close();
    const records = [{ offset, size: 64, tag: 5, sequence: 0 }, ...(await peerRecords(startPeer({ path, count: 20, tag: 6 })))];
    expect(records[1]!.offset).toBe(offset + 64);
    expect(checkFile(path, records)).toEqual([]);
  });

  async function race(mode: "atomic" | "racy"): Promise<{ problems: string[]; switches: number }> {
    const path = freshPath(directory);
    const parent = MappedFileRegionArena.create(path, { capacity, headerOffset: testHeaderOffset });
    const peers = [10, 11].map((tag) => startPeer({ path, count: 20_000, tag, mode, rendezvous: true }));
    const bun = [bunJob(path, 20, 20_000), bunJob(path, 21, 20_000)];
    // Released together once all four have opened; the parent then lets go, so
    // that one of them is the last closer, which shrinks the file.
    await barrier(parent).releaseWhenArrived(raceCheckpoints.participants);
    parent.close();
    const records = [
      ...(await Promise.all(peers.map(peerRecords))).flat(),
      ...(await Promise.all(bun.map(finished))).flatMap(bunRecords),
    ];
    expect(records).toHaveLength(80_000);
    return { problems: checkFile(path, records, testHeaderOffset), switches: languageSwitches(records) };
  }

  /** How often, in file order, an allocation by C follows one by Bun or back. */
  function languageSwitches(records: AllocationRecord[]): number {
    const byOffset = [...records].sort((a, b) => a.offset - b.offset);
    let switches = 0;
    for (let index = 1; index < byOffset.length; index++) {
      if (byOffset[index]!.tag < 20 !== byOffset[index - 1]!.tag < 20) switches++;
    }
    return switches;
  }

  test("2 C peers and 2 Bun processes allocate at once: disjoint, stamped, size exact", async () => {
    const { problems, switches } = await race("atomic");
    expect(problems).toEqual([]);
    // They really ran at once: C and Bun allocations interleave in the file. The
    // checkpoints guarantee a switch within each of the 20 stretches between them
    // (a few thousand switches are typical), not one batch after the other.
    expect(switches).toBeGreaterThanOrEqual(20);
  });

  test("the checker catches a C peer that bumps with a plain load and store", async () => {
    const { problems } = await race("racy");
    expect(problems.some((problem) => problem.startsWith("overlap"))).toBe(true);
  });
});
