/**
 * What a store's remote sees of the store beyond its public API, and nothing
 * more: storing a leaf whose SHA-256 the download already computed (hashing
 * 1 MiB twice costs more than fetching it over loopback), a large leaf's own file (so an upload streams from disk instead of
 * reading the object into memory) or a small one's bytes read where they are (not copied forward), the list of what the store holds (for push),
 * (leaves only: the only objects a remote holds), and recording an action entry by its key's hash (what the remote holds).
 */
import type { ActionCache } from "../action-cache.ts";
import type { Generation } from "../generation.ts";
import { idScratch, idToHex, parseIdInto } from "../hashing.ts";
import { fileLength, largeObjectPath } from "../large-objects.ts";
import { locate, locationOf, readObject } from "../object-io.ts";
import { readRecordShape, recordHeaderBytes, StorageKind } from "../object-record.ts";
import type { RemoteStoreAccess } from "./store-remote.ts";

/** `generations()` returns the primary generation and the upstream one (or null), current. */
export function remoteAccess(
  generations: () => (Generation | null)[],
  actions: ActionCache,
  putLeaf: (bytes: Uint8Array, id: Uint8Array, idHex: string) => string,
): RemoteStoreAccess {
  const id = idScratch();
  return {
    putLeaf,
    leafBody(idHex) {
      if (!parseIdInto(idHex, id)) return null;
      // Read where it is, never copied forward: an upload must not write into the
      // store (nor rotate it), nor keep alive an object the store is letting go.
      for (const generation of generations()) {
        if (generation === null) continue;
        const location = locate(generation, id);
        if (location.kind === StorageKind.none) continue;
        if (location.kind === StorageKind.leafFile) {
          const path = largeObjectPath(generation.directory, StorageKind.leafFile, idHex);
          const length = fileLength(path);
          return length === location.offset ? { path, length } : null;
        }
        if (location.kind !== StorageKind.pool) return null; // a record file: an object with refs
        const content = readObject(generation, id, location); // a copy, unverified: the caller hashes it
        return content.refCount === 0 ? { bytes: content.data } : null;
      }
      return null;
    },
    entries() {
      const objects = new Set<string>();
      const entries = new Map<string, string>();
      for (const generation of generations()) {
        if (generation === null) continue;
        // Both walks are bounded by the index file (the trie's records() walk).
        for (const record of generation.objects) {
          if (isLeaf(generation, locationOf(record.data))) objects.add(idToHex(record.hash));
        }
        for (const record of generation.actions) {
          const key = idToHex(record.hash);
          if (!entries.has(key)) entries.set(key, idToHex(record.data));
        }
      }
      return { objects: [...objects], actions: [...entries] };
    },
    putAction(keyHash, idHex) {
      actions.putByKeyHash(keyHash, idHex);
    },
    isLeaf(idHex) {
      if (!parseIdInto(idHex, id)) return false;
      for (const generation of generations()) {
        if (generation === null) continue;
        const location = locate(generation, id);
        if (location.kind !== StorageKind.none) return isLeaf(generation, location);
      }
      return false;
    },
  };
}

/** True for a published object without refs. A damaged pool record counts as not a leaf (validate reports it). */
function isLeaf(generation: Generation, location: { kind: number; offset: number }): boolean {
  if (location.kind === StorageKind.leafFile) return true;
  if (location.kind !== StorageKind.pool) return false;
  try {
    const shape = readRecordShape(generation.pool.get(location.offset, recordHeaderBytes));
    return shape !== null && shape.refCount === 0;
  } catch {
    return false; // outside the pool
  }
}
