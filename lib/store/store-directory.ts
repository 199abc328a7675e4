/**
 * What makes a directory a content store: the one place that decides it.
 *
 * The effect we want: open() makes a store only where nothing else lives, and
 * no open, close or gc ever writes to or removes from a directory that holds
 * someone else's files.
 *
 * Why the obvious way fails: the store's names are ordinary names. A web site
 * has `v1.0/`, a project has `tmp/` and `trash.txt`; a store that took any
 * directory as its own opened the site's `v1.3/` as its primary generation,
 * deleted `v1.0/` and `v1.1/` as old ones, and `trash.txt` as its leftover.
 * Looking for the store's `lock` file is not enough either: `lock` is a common
 * name, and an empty file is what the store's lock is.
 *
 * The way chosen: a store carries a marker, the file `mfa.cas.store` holding
 * one fixed line (docs/DESIGN.md, "Directory"). A writer makes it in a
 * directory that is new or empty, before anything else, atomically (written
 * under a temporary name and renamed into place, so an opener never reads half
 * of it). Then a directory is a store when it has the marker; a new or empty
 * one becomes one (writers only); and a store made before the marker existed
 * is recognized by its `lock` file together with a generation (`v1.N`) whose
 * index file carries the store's table name (a writer then adds the marker).
 * A marker a power loss left incomplete (its name renamed into place, its
 * bytes never written: empty, short or zeros) counts as no marker: such a store
 * is recognized the older way and its marker rewritten (the marker is now
 * fsynced before its rename, and its directory after, so this store does not
 * leave one). Anything else is ArenaError ERR_CAS_NOT_A_STORE, with nothing written.
 *
 * What it gives up: one small file, and a readdir of the top directory per
 * open. A store of an older version whose very first open was killed before it
 * made its first generation holds nothing, and is refused: delete it.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { openRegularFile } from "../arena/regular-file.ts";
import { ArenaError } from "../common/errors.ts";
import { toArenaError, wrapFsErrors } from "./fs-errors.ts";
import { indexTable } from "./generation.ts";
import { writeWholeFile } from "./large-objects.ts";
import { notADirectory } from "./store-directory-errors.ts";
import { storeTestHooks } from "./testing.ts";

/** The marker's name, in the store's directory. */
export const markerName = "mfa.cas.store";
/** The marker's bytes: this line, exactly (ASCII, 35 bytes). */
const markerText = "mapped-file-arena content store v1\n";
const markerBytes = new TextEncoder().encode(markerText);
/** A marker being written (createTemporaryFile's name for it): not someone else's file. */
export const markerTemporaryName = /^mfa\.cas\.store\.\d+\.\d+\.tmp$/;
/** Generation directories, canonical decimal only (`v1.01` would open as `v1.1`). */
export const generationName = /^v1\.(0|[1-9]\d*)$/;

type Verdict =
  | { kind: "missing" }
  | { kind: "store"; marked: boolean }
  | { kind: "empty" }
  | { kind: "foreign"; reason: string };

/**
 * For a writer (open, validateIfNeeded): makes `directory` if it is missing
 * (its parent must exist: ENOENT otherwise), makes a new or empty directory a
 * store, adds the marker to a store made before it, and refuses anything else
 * with ERR_CAS_NOT_A_STORE, having written nothing.
 */
export function claimStoreDirectory(directory: string): void {
  makeOwnDirectory(directory);
  const verdict = judge(directory);
  if (verdict.kind === "foreign") throw notAStore(directory, verdict.reason);
  if (verdict.kind === "missing") throw gone(directory); // removed since we made it
  if (verdict.kind === "empty" || !verdict.marked) writeMarker(directory);
}

/**
 * For a reader (openReadOnly): refuses a directory that holds files and is not
 * a store with ERR_CAS_NOT_A_STORE. Writes nothing. A missing or empty
 * directory is left to the caller, whose open of the `lock` file says that no
 * writer has made a store there yet (store-directory-errors.ts).
 */
export function requireStoreDirectory(directory: string): void {
  const verdict = judge(directory);
  if (verdict.kind === "foreign") throw notAStore(directory, verdict.reason);
}

/** mkdir of the store's own directory, never of its parents. */
function makeOwnDirectory(directory: string): void {
  try {
    mkdirSync(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new ArenaError("ENOENT", `cannot make the store's directory ${directory}: its parent is missing (a store makes only its own directory)`, {
        path: directory,
        syscall: "mkdir",
      });
    }
    if (code !== "EEXIST") throw toArenaError(error, directory);
    if (!wrapFsErrors(directory, () => statSync(directory)).isDirectory()) throw notADirectory(directory, "ENOTDIR", { path: directory, syscall: "mkdir" });
  }
}

function judge(directory: string): Verdict {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "missing" };
    if (code === "ENOTDIR") throw notADirectory(directory, "ENOTDIR", { path: directory, syscall: "scandir" });
    throw toArenaError(error, directory);
  }
  const others = names.filter((name) => name !== markerName && !markerTemporaryName.test(name));
  if (names.includes(markerName)) {
    const marker = readMarker(join(directory, markerName));
    if (marker.kind === "marker") return { kind: "store", marked: true };
    // An incomplete marker: its name survived a power loss, its bytes did not.
    // As if unmarked beside a store (lock and an index): recognized the older way.
    // Alone it stays refused: nothing says a store was ever there.
    if (marker.kind === "foreign") return { kind: "foreign", reason: marker.reason };
    if (madeBeforeTheMarker(directory, others)) return { kind: "store", marked: false };
    return { kind: "foreign", reason: `its ${markerName} is incomplete (${marker.length} bytes), and no store's lock and index are beside it` };
  }
  if (others.length === 0) return { kind: "empty" };
  if (madeBeforeTheMarker(directory, others)) return { kind: "store", marked: false };
  const shown = others.slice(0, 3).map((name) => JSON.stringify(name)).join(", ");
  return { kind: "foreign", reason: `it holds ${shown}${others.length > 3 ? ", ..." : ""} and no ${markerName}` };
}

type MarkerReading = { kind: "marker" } | { kind: "short"; length: number } | { kind: "foreign"; reason: string };

/**
 * What the file at `path` is: the store's marker (the line, exactly);
 * incomplete ("short": fewer bytes than the line, each the line's own, or no
 * more than the line's length of zero bytes, an extent never written: what a
 * power loss leaves of a marker whose rename outlived its data); or anything
 * else (foreign).
 */
function readMarker(path: string): MarkerReading {
  let fd: number;
  try {
    fd = openRegularFile(path, "read");
  } catch (error) {
    return { kind: "foreign", reason: `its ${markerName} cannot be read as the store's marker (${(error as { code?: string }).code ?? "error"})` };
  }
  try {
    const bytes = new Uint8Array(markerBytes.length + 1); // one more: a longer file is not the marker either
    const length = readSync(fd, bytes, 0, bytes.length, 0);
    const read = bytes.subarray(0, length);
    const agrees = length <= markerBytes.length && read.every((byte, index) => byte === markerBytes[index]);
    if (agrees && length === markerBytes.length) return { kind: "marker" };
    if (agrees || (length <= markerBytes.length && read.every((byte) => byte === 0))) return { kind: "short", length };
    return { kind: "foreign", reason: `its ${markerName} is not this store's marker (it does not hold ${JSON.stringify(markerText)})` };
  } catch (error) {
    throw toArenaError(error, path);
  } finally {
    closeSync(fd);
  }
}

/** A store made before the marker: a `lock` file, and a generation whose index file is the store's. */
function madeBeforeTheMarker(directory: string, names: string[]): boolean {
  if (!names.includes("lock") || !isRegularFile(join(directory, "lock"))) return false;
  return names.some((name) => generationName.test(name) && isStoreIndex(join(directory, name, "index.v1")));
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** Bytes of an index file's head read to recognize it: the DatabaseFile header, the table header and its name. */
const indexHeadBytes = 4096;
const databaseMagic = 0xda7aba53;
const trieKind = 1;
const trieNameOffset = 32;

/**
 * Whether `path` is an index file of the store: a DatabaseFile (magic, version
 * 1) whose table is a trie named as the store's index (docs/DESIGN.md,
 * "DatabaseFile"). Reads one block; every offset is checked against it.
 */
function isStoreIndex(path: string): boolean {
  let fd: number;
  try {
    fd = openRegularFile(path, "read");
  } catch {
    return false;
  }
  try {
    const head = new Uint8Array(indexHeadBytes);
    const length = readSync(fd, head, 0, head.length, 0);
    const view = new DataView(head.buffer, 0, length);
    const name = new TextEncoder().encode(indexTable.name);
    if (length < 16 || view.getUint32(0, true) !== databaseMagic || view.getUint32(4, true) !== 1 || view.getUint32(12, true) !== 0) return false;
    const table = view.getUint32(8, true);
    const nameAt = table + trieNameOffset;
    if (table < 16 || nameAt + name.length + 1 > length) return false;
    if (view.getUint16(table, true) !== trieKind || view.getUint16(table + 2, true) !== name.length || view.getInt32(table + 4, true) !== trieNameOffset) return false;
    return name.every((byte, index) => head[nameAt + index] === byte) && head[nameAt + name.length] === 0;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Writes the marker atomically (writeWholeFile: a temporary file renamed into place; a racing writer's rename puts the same bytes). */
function writeMarker(directory: string): void {
  if (storeTestHooks.markerInPlace) return writeMarkerInPlace(join(directory, markerName));
  writeWholeFile(join(directory, markerName), [markerBytes], true);
}

/** BROKEN on purpose (storeTestHooks.markerInPlace): made at its name, then filled. */
function writeMarkerInPlace(path: string): void {
  const fd = openSync(path, "w");
  try {
    storeTestHooks.at?.("file-written");
    writeSync(fd, markerBytes);
  } finally {
    closeSync(fd);
  }
}

function notAStore(directory: string, reason: string): ArenaError {
  return new ArenaError("ERR_CAS_NOT_A_STORE", `${directory} is not a content store: ${reason}; nothing was changed`, { path: directory });
}

/** The store's directory is gone (removed while open, or between the mkdir and the look). */
export function gone(directory: string): ArenaError {
  return new ArenaError("ENOENT", `the store's directory ${directory} is gone (removed while in use?): it is not made again`, { path: directory });
}
