/**
 * STAND-IN until lib/trie lands: an open-addressing hash index and a data pool on
 * MappedFileRegionArena, with the semantics of the trie and data allocator the
 * store needs (first insert wins, records published by one compare-and-swap after
 * their data is written). Replaced by adapters over OnDiskTrieRawHashMap and
 * OnDiskDataAllocator; nothing outside lib/store/tables-*.ts may depend on it.
 */
import { MappedFileRegionArena } from "../arena/arena.ts";
import { ArenaError } from "../common/errors.ts";
import { storeTestHooks } from "./testing.ts";
import type { DataPool, HashIndex, IndexRecord } from "./tables.ts";

const headerBytes = 64;
const hashBytes = 32;
const indexMagic = 0x31_78_64_6e_69_73_61_63n; // "casindx1"
const poolMagic = 0x31_6c_6f_6f_70_73_61_63n; // "caspool1"

function words(arena: MappedFileRegionArena, offset: number, count: number): BigInt64Array {
  const bytes = arena.bytes(offset, count * 8);
  return new BigInt64Array(bytes.buffer, bytes.byteOffset, count);
}

export function openStandInIndex(path: string, options: { dataBytes: number; slots: number; capacity: number }): HashIndex {
  const dataBytes = Math.ceil(options.dataBytes / 8) * 8;
  const arena = MappedFileRegionArena.create(path, {
    capacity: options.capacity,
    headerOffset: headerBytes,
    onCreate: (fresh) => {
      const table = fresh.allocateOffset(options.slots * 8);
      const head = words(fresh, 0, 4);
      head[1] = BigInt(table);
      head[2] = BigInt(options.slots);
      head[3] = BigInt(dataBytes);
      head[0] = indexMagic;
    },
  });
  const head = words(arena, 0, 4);
  if (head[0] !== indexMagic || head[3] !== BigInt(dataBytes)) {
    arena.close();
    throw new ArenaError("ERR_CAS_CORRUPT", `${path} is not a store index`, { path });
  }
  const slotCount = Number(head[2]);
  const tableOffset = Number(head[1]);
  const slots = words(arena, tableOffset, slotCount);
  const recordBytes = dataBytes + hashBytes;

  const recordAt = (offset: number): IndexRecord => {
    const view = arena.bytes(offset, recordBytes);
    return { offset, data: view.subarray(0, options.dataBytes), hash: view.subarray(dataBytes, dataBytes + hashBytes) };
  };
  const homeOf = (hash: Uint8Array) => ((hash[0]! | (hash[1]! << 8) | (hash[2]! << 16)) >>> 0) % slotCount;
  const matches = (offset: number, hash: Uint8Array) => {
    const stored = arena.bytes(offset + dataBytes, hashBytes);
    for (let i = 0; i < hashBytes; i++) if (stored[i] !== hash[i]) return false;
    return true;
  };
  const validOffset = (offset: number) =>
    offset >= tableOffset + slotCount * 8 && offset + recordBytes <= arena.size && offset % 8 === 0;

  return {
    path,
    find(hash) {
      for (let probe = 0, slot = homeOf(hash); probe < slotCount; probe++, slot = (slot + 1) % slotCount) {
        const offset = Number(Atomics.load(slots, slot));
        if (offset === 0) return null;
        if (!validOffset(offset)) throw new ArenaError("ERR_CAS_CORRUPT", `index slot ${slot} points outside ${path}`);
        if (matches(offset, hash)) return recordAt(offset);
      }
      return null;
    },
    insert(hash, fill) {
      let mine = 0;
      for (let probe = 0, slot = homeOf(hash); probe < slotCount; probe++, slot = (slot + 1) % slotCount) {
        let offset = Number(Atomics.load(slots, slot));
        if (offset === 0) {
          if (mine === 0) {
            mine = arena.allocateOffset(recordBytes);
            const record = recordAt(mine);
            fill(record.data);
            record.hash.set(hash);
          }
          if (storeTestHooks.plainIndexStore) {
            slots[slot] = BigInt(mine); // BROKEN on purpose: two writers can both see 0
            return recordAt(mine);
          }
          const seen = Number(Atomics.compareExchange(slots, slot, 0n, BigInt(mine)));
          if (seen === 0) return recordAt(mine);
          offset = seen;
        }
        if (matches(offset, hash)) return recordAt(offset);
      }
      throw new ArenaError("ERR_ARENA_FULL", `the index ${path} is full (${slotCount} slots)`, { path });
    },
    *records() {
      for (let slot = 0; slot < slotCount; slot++) {
        const offset = Number(Atomics.load(slots, slot));
        if (offset !== 0 && validOffset(offset)) yield recordAt(offset);
      }
    },
    check() {
      const problems: string[] = [];
      for (let slot = 0; slot < slotCount; slot++) {
        const offset = Number(Atomics.load(slots, slot));
        if (offset !== 0 && !validOffset(offset)) problems.push(`${path}: slot ${slot} points to ${offset}, outside the records`);
      }
      return problems;
    },
    get sizeBytes() {
      return arena.size;
    },
    capacityBytes: arena.capacity,
    close: () => arena.close(),
  };
}

export function openStandInPool(path: string, options: { capacity: number; userHeaderBytes: number }): DataPool {
  const userHeaderBytes = Math.ceil(options.userHeaderBytes / 8) * 8;
  const headerOffset = 8 + userHeaderBytes;
  const arena = MappedFileRegionArena.create(path, {
    capacity: options.capacity,
    headerOffset,
    onCreate: (fresh) => {
      words(fresh, 0, 1)[0] = poolMagic;
    },
  });
  if (words(arena, 0, 1)[0] !== poolMagic) {
    arena.close();
    throw new ArenaError("ERR_CAS_CORRUPT", `${path} is not a store data pool`, { path });
  }
  const firstOffset = headerOffset + 32;
  return {
    path,
    firstOffset,
    userHeader: arena.bytes(8, userHeaderBytes),
    allocate: (size) => arena.allocateOffset(size),
    bytes(offset, size) {
      if (offset < firstOffset || offset + size > arena.size) {
        throw new RangeError(`[${offset}, ${offset + size}) is outside the data pool ${path} (size ${arena.size})`);
      }
      return arena.bytes(offset, size);
    },
    get sizeBytes() {
      return arena.size;
    },
    capacityBytes: arena.capacity,
    close: () => arena.close(),
  };
}
