/**
 * Writers SIGKILLed at random points while inserting into one trie, round after
 * round on the same file: afterwards every key a writer acknowledged (its progress
 * counter is raised only after insert returned) is found with its data, every
 * record is reachable once, validate is clean (leaked records and subtries from
 * the killed inserts are allowed, and reported), the file reopens, and inserts go
 * on: the next round's writers, and the parent's own.
 *
 * Broken variant caught: slot publication as a plain store (lib/trie/testing.ts).
 * The control round leaves as little to chance as the broken variant allows: two
 * writers' first 2000 keys are chosen so that in each rendezvous round both keys
 * take the same empty root slot (a fresh one each round, of 2^12), and their
 * initializers meet at a spinning rendezvous before publishing. Compare-and-swap
 * sinks one record under the other; the plain store, when the two re-read-and-
 * store windows overlap (about 1 round in 5, see concurrency.test.ts), overwrites
 * the first writer's acknowledged record.
 *
 * Rounds: TRIE_CRASH_ROUNDS (default below).
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { OnDiskTrieRawHashMap } from "../../lib/index.ts";
import { spawnChild } from "../support/processes.ts";
import { prng } from "../support/random.ts";
import { counter, openControl, releaseWhenArrived, type ControlArena } from "../support/shared-counters.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { collidingOptions, type TrieTestOptions } from "../support/trie-check.ts";
import { dataBytes, hashBytes, keyDataWriter, keyHash, writeKeyData } from "../support/trie-keys.ts";
import { slotIndex } from "../support/trie-layout.ts";
import type { WriterConfig } from "./children/insert-keys.ts";

const directory = tempDirectory("trie-crash-");
const rounds = Number(process.env.TRIE_CRASH_ROUNDS ?? 6);
const writersPerRound = 3;
/** The control's rendezvous rounds: each loses the race about 1 time in 5 (see concurrency.test.ts). */
const controlRounds = Number(process.env.TRIE_RACE_ROUNDS ?? 2000);
/** More than any writer reaches before it is killed. */
const keysPerWriter = 2_000_000;

interface Round {
  round: number;
  writers: number;
  options: TrieTestOptions;
  broken: boolean;
  /** Per writer: keys inserted first (with a rendezvous each when rendezvous is set). */
  leadingKeys: number[][];
  rendezvous: boolean;
  /** Kill once every writer has acknowledged at least this many keys. */
  minimumAcknowledged: number;
  random: () => number;
}

/** Writer w of round r inserts keysPerWriter keys from here: neighbours share all but 1000. */
const firstKeyOf = (round: number, writer: number) => round * 10_000_000 + writer * 1000;
/**
 * ...starting `rotationOf(w)` into that range and wrapping around, so that past
 * its first w * 1000 keys writer w is at the same key as writer 0 at every step:
 * they race on each shared key rather than find it inserted long before.
 */
const rotationOf = (writer: number) => (keysPerWriter - writer * 1000) % keysPerWriter;

/** The key a writer inserted n-th. */
const keyAt = (round: Round, writer: number, n: number) => {
  const leading = round.leadingKeys[writer]!;
  return n < leading.length ? leading[n]! : firstKeyOf(round.round, writer) + ((n - leading.length + rotationOf(writer)) % keysPerWriter);
};

/** Runs one round's writers until killed; returns how many keys each acknowledged. */
async function killRound(trie: string, round: Round): Promise<number[]> {
  // Fresh counters each round (arrivals, go, rendezvous, progress).
  const controlPath = `${trie}.control-${round.round}-${round.broken}`;
  const control = openControl(controlPath);
  try {
    return await runWriters(trie, controlPath, control, round);
  } finally {
    control.arena.close();
  }
}

async function runWriters(trie: string, controlPath: string, control: ControlArena, round: Round): Promise<number[]> {
  const writers = Array.from({ length: round.writers }, (_, writer) => {
    const config: WriterConfig = {
      trie,
      control: controlPath,
      options: round.options,
      writer,
      writers: round.writers,
      leadingKeys: round.leadingKeys[writer]!,
      firstKey: firstKeyOf(round.round, writer),
      rotation: rotationOf(writer),
      keys: keysPerWriter,
      unionFirst: 0,
      unionKeys: 0,
      rendezvousRounds: round.rendezvous ? round.leadingKeys[writer]!.length : 0,
      broken: round.broken,
      checkAtEnd: false,
    };
    return spawnChild(join("..", "..", "trie", "children", "insert-keys.ts"), [JSON.stringify(config)], { stdout: "inherit", stderr: "inherit" });
  });
  await releaseWhenArrived(control.words, round.writers);
  const progress = () => Array.from({ length: round.writers }, (_, w) => Number(Atomics.load(control.words, counter.progressBase + w)));
  const deadline = Date.now() + 120_000;
  while (progress().some((done) => done < round.minimumAcknowledged)) {
    if (Date.now() > deadline) throw new Error(`writers did not reach ${round.minimumAcknowledged} keys: ${progress()}`);
    if (writers.some((writer) => writer.exitCode !== null)) throw new Error(`a writer ended before it was killed: ${writers.map((w) => w.exitCode)}`);
    await Bun.sleep(2);
  }
  // Each writer dies at its own random moment, mid-insert as likely as not.
  await Promise.all(
    writers.map(async (writer) => {
      await Bun.sleep(round.random() * 30);
      writer.kill("SIGKILL");
      await writer.exited;
    }),
  );
  expect(writers.map((writer) => writer.signalCode)).toEqual(Array(round.writers).fill("SIGKILL"));
  return progress();
}

/** What the file must satisfy after the kills of `done` rounds; returns the problems found. */
function checkAfterKills(trie: string, options: TrieTestOptions, done: { round: Round; acknowledged: number[] }[]): string[] {
  const problems: string[] = [];
  const note = (problem: string) => void (problems.length < 20 && problems.push(problem));
  const hash = new Uint8Array(hashBytes);
  using map = OnDiskTrieRawHashMap.create(trie, options);
  for (const { round, acknowledged } of done) {
    acknowledged.forEach((count, writer) => {
      for (let n = 0; n < count; n++) {
        const key = keyAt(round, writer, n);
        const found = map.find(keyHash(key, hash));
        if (!found) note(`round ${round.round}: writer ${writer} acknowledged key ${key} (its ${n}th), but it is not found`);
        else if (keyDataWriter(found.data, key) < 0) note(`round ${round.round}: key ${key} has data no initializer wrote for it`);
      }
    });
  }
  const seen = new Set<number>();
  for (const record of map) {
    const key = new DataView(record.data.buffer, record.data.byteOffset, dataBytes).getUint32(0, true);
    if (seen.has(key)) note(`key ${key} is reachable twice`);
    seen.add(key);
    if (!keyHash(key, hash).every((byte, i) => record.hash[i] === byte)) note(`record ${record.offset}: its hash is not key ${key}'s`);
  }
  try {
    const report = map.validate(() => {});
    console.log(`after ${done.length} killed rounds: ${seen.size} records; validate: ${JSON.stringify(report)}`);
  } catch (error) {
    note(`validate threw: ${(error as Error).message}`);
  }
  return problems;
}

/** For each writer, `count` keys of its own; in round n all writers' n-th keys take root slot n. */
function collidingKeys(writers: number, rootBits: number, count: number): number[][] {
  const hash = new Uint8Array(hashBytes);
  return Array.from({ length: writers }, (_, writer) => {
    const keys: number[] = Array(count).fill(-1);
    let missing = count;
    for (let candidate = 900_000_000 + writer; missing > 0; candidate += writers) {
      const slot = slotIndex(keyHash(candidate, hash), 0, rootBits);
      if (slot < count && keys[slot] === -1) {
        keys[slot] = candidate;
        missing--;
      }
    }
    return keys;
  });
}

describe("trie: writers killed mid-insert", () => {
  test(`${rounds} rounds of ${writersPerRound} writers SIGKILLed: acknowledged keys found, validate clean, inserts go on`, async () => {
    const trie = freshPath(directory, "trie");
    const options = { ...collidingOptions(1024 * 1024 * 1024), rootBits: 4, subtrieBits: 2 };
    const random = prng(0x5eed);
    const done: { round: Round; acknowledged: number[] }[] = [];
    for (let index = 0; index < rounds; index++) {
      const round: Round = {
        round: index,
        writers: writersPerRound,
        options,
        broken: false,
        leadingKeys: Array.from({ length: writersPerRound }, () => []),
        rendezvous: false,
        minimumAcknowledged: 200 + Math.floor(random() * 5000),
        random,
      };
      const acknowledged = await killRound(trie, round);
      done.push({ round, acknowledged });
      expect(checkAfterKills(trie, options, done)).toEqual([]);
    }
    // The file takes new inserts after all that, and keeps them across a reopen.
    const hash = new Uint8Array(hashBytes);
    {
      using map = OnDiskTrieRawHashMap.create(trie, options);
      for (let key = 800_000_000; key < 800_000_100; key++) map.insert(keyHash(key, hash), (data) => writeKeyData(data, key, 0));
    }
    using reopened = OnDiskTrieRawHashMap.create(trie, options);
    for (let key = 800_000_000; key < 800_000_100; key++) expect(keyDataWriter(reopened.find(keyHash(key, hash))!.data, key)).toBe(0);
    expect(() => reopened.validate(() => {})).not.toThrow();
  }, 600_000);

  test("broken variant (slot published by a plain store): acknowledged keys are lost, and caught", async () => {
    const trie = freshPath(directory, "trie");
    // A fresh root slot for every rendezvous round: 2^12 of them.
    const options = { ...collidingOptions(256 * 1024 * 1024), rootBits: 12, subtrieBits: 6 };
    const writers = 2;
    const leadingKeys = collidingKeys(writers, options.rootBits, controlRounds);
    const round: Round = { round: 0, writers, options, broken: true, leadingKeys, rendezvous: true, minimumAcknowledged: controlRounds + 50, random: prng(7) };
    const acknowledged = await killRound(trie, round);
    const problems = checkAfterKills(trie, options, [{ round, acknowledged }]);
    console.log(`plain store caught: ${problems[0]}`);
    expect(problems.length).toBeGreaterThan(0);
  }, 180_000);
});
