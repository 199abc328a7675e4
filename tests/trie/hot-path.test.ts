/**
 * The shortcuts of the lookup's hot path (lib/trie/trie-layout.ts) give the same
 * answers as the plain path: a key buffer reused with new contents (compared
 * through a cached word view from its second use), an unaligned key buffer, and
 * records whose views are made on first access.
 */
import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { OnDiskTrieRawHashMap } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("trie-hot-path-");

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

function filledTrie(keys: string[]) {
  const map = OnDiskTrieRawHashMap.create(freshPath(directory), { name: "index", hashBits: 256, dataBytes: 8, capacity: 1 << 24 });
  const offsets = keys.map((key, i) => map.insert(sha256(key), (data) => void (data[0] = i)).offset);
  return { map, offsets };
}

const keys = Array.from({ length: 200 }, (_, i) => `key ${i}`);

test("one key buffer reused for every lookup, rewritten each time, finds each key and only present ones", () => {
  const { map, offsets } = filledTrie(keys);
  using _ = map;
  const key = new Uint8Array(32);
  for (let round = 0; round < 2; round++) {
    keys.forEach((text, i) => {
      key.set(sha256(text));
      expect(map.findOffset(key)).toBe(offsets[i]!);
      expect(map.find(key)?.data[0]).toBe(i);
      key.set(sha256(`absent ${text}`));
      expect(map.findOffset(key)).toBe(-1);
      // The same contents again, but one byte off at the end: the word compare sees the whole hash.
      key.set(sha256(text));
      key[31]! ^= 1;
      expect(map.findOffset(key)).toBe(-1);
    });
  }
});

test("unaligned key buffers (byteOffset 1..3), reused or fresh, find the same records", () => {
  const { map, offsets } = filledTrie(keys);
  using _ = map;
  const backing = new Uint8Array(40);
  for (let shift = 0; shift < 4; shift++) {
    const reused = backing.subarray(shift, shift + 32);
    keys.forEach((text, i) => {
      reused.set(sha256(text));
      expect(map.findOffset(reused)).toBe(offsets[i]!);
      const fresh = new Uint8Array(36).subarray(shift, shift + 32);
      fresh.set(sha256(text));
      expect(map.findOffset(fresh)).toBe(offsets[i]!);
    });
  }
});

test("a record's views, made on first access, are the record's bytes; asked for first after close, they are empty", () => {
  const { map } = filledTrie(["a", "b"]);
  const found = map.find(sha256("a"))!;
  const foundLater = map.find(sha256("b"))!;
  expect(found.hash).toEqual(sha256("a"));
  expect(found.hash).toBe(found.hash); // made once, then kept
  expect(found.data[0]).toBe(0);
  found.data[1] = 7;
  expect(map.find(sha256("a"))!.data[1]).toBe(7);
  map.close();
  expect(found.data.length).toBe(0);
  expect(foundLater.data.length).toBe(0);
  expect(foundLater.hash.length).toBe(0);
});

test("findOffset's quick walk (a reused key buffer) and its checked walk (fresh arrays) agree on 4000 present and 4000 absent keys", () => {
  const present = Array.from({ length: 4000 }, (_, i) => `present ${i}`);
  const { map, offsets } = filledTrie(present);
  using _ = map;
  const reused = new Uint8Array(32);
  const answers = (texts: string[]) =>
    texts.map((text) => {
      const hash = sha256(text);
      reused.set(hash);
      return [map.findOffset(reused), map.findOffset(hash.slice())];
    });
  expect(answers(present)).toEqual(offsets.map((offset) => [offset, offset]));
  const absent = present.map((text) => `absent ${text}`);
  expect(answers(absent)).toEqual(absent.map(() => [-1, -1]));
});
