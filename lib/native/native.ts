/**
 * The only module that talks to bun:ffi. It loads the shim, declares its symbols,
 * and wraps each one in a typed function that returns a plain value or throws an
 * ArenaError named after the errno. Nothing here decides anything; see arena.ts.
 *
 * One set of functions on every platform. Where Windows needs more than one shim
 * call to keep a function's contract (a file grown sparse, a sync that waits for the
 * disk), the wrapper makes them here, so that the arena above reads the same
 * everywhere; errors then name the Windows call (CreateFileW, LockFileEx, ...).
 */
import { dlopen, FFIType, ptr as addressOf, toArrayBuffer, type Pointer } from "bun:ffi";
import { ArenaError } from "../common/errors.ts";
import { describeError, errnoName, isPreallocationUnsupported, isWouldBlock } from "./errno.ts";
import { locateLibrary, missingLibraryAdvice } from "./library-path.ts";

const { i32, i64, i64_fast, ptr, cstring } = FFIType;
const isWindows = process.platform === "win32";
// Every function returns i64: a result, or -errno. i64_fast gives a number for
// anything that fits one, which all of our values do.
const symbols = {
  // A path: UTF-8 on Linux and macOS, UTF-16 on Windows (see pathArgument).
  mfa_open: { args: [isWindows ? ptr : cstring, i32], returns: i64_fast },
  mfa_close: { args: [i32], returns: i64_fast },
  mfa_flock: { args: [i32, i32], returns: i64_fast },
  mfa_fstat: { args: [i32, ptr], returns: i64_fast },
  mfa_ftruncate: { args: [i32, i64], returns: i64_fast },
  mfa_fallocate: { args: [i32, i64, i64], returns: i64_fast },
  mfa_mmap: { args: [i32, i64, i32, i64], returns: i64_fast },
  mfa_seek: { args: [i32, i64, i32], returns: i64_fast },
  mfa_free_bytes: { args: [i32], returns: i64_fast },
  mfa_reserved_prefix: { args: [i32, i64], returns: i64_fast },
  mfa_munmap: { args: [i64, i64], returns: i64_fast },
  mfa_mmap_placeholder: { args: [i64, i64, i32], returns: i64_fast },
  mfa_msync: { args: [i64, i64], returns: i64_fast },
  mfa_pread: { args: [i32, ptr, i64, i64], returns: i64_fast },
  mfa_pwrite: { args: [i32, ptr, i64, i64], returns: i64_fast },
  mfa_fstatfs: { args: [i32, ptr, i64], returns: i64_fast },
  mfa_range_lock: { args: [i32, i32, i64], returns: i64_fast },
  // Needed on Windows only; on Linux and macOS files are sparse already and msync waits.
  mfa_set_sparse: { args: [i32], returns: i64_fast },
  mfa_fsync: { args: [i32], returns: i64_fast },
  mfa_madvise: { args: [ptr, i64, i32], returns: i64_fast },
  // The process-wide pool of placeholder ranges (lib/arena/placeholder-pool.ts).
  mfa_pool_put: { args: [i64, i64], returns: i64_fast },
  mfa_pool_take: { args: [i64, i64], returns: i64_fast },
} as const;

type Shim = ReturnType<typeof loadShim>;
let shim: Shim | undefined;

function loadShim() {
  const location = locateLibrary();
  if (!location.found) {
    throw new ArenaError("ERR_ARENA_NATIVE_LIBRARY", missingLibraryAdvice(location.searched));
  }
  try {
    return dlopen(location.path, symbols).symbols;
  } catch (cause) {
    throw new ArenaError(
      "ERR_ARENA_NATIVE_LIBRARY",
      `cannot load ${location.path} (${location.source}): ${(cause as Error).message}`,
      { path: location.path },
    );
  }
}

function native(): Shim {
  return (shim ??= loadShim());
}

/**
 * The system call behind each shim function, as errors name it: [Linux and macOS,
 * Windows]. A Windows user knows CreateFileW and LockFileEx, not open and flock.
 */
const callNames = {
  open: ["open", "CreateFileW"],
  close: ["close", "CloseHandle"],
  lock: ["flock", "LockFileEx"],
  unlock: ["flock", "UnlockFileEx"],
  rangeLock: ["fcntl", "LockFileEx"],
  fstat: ["fstat", "GetFileInformationByHandleEx"],
  ftruncate: ["ftruncate", "SetFileInformationByHandle"],
  setSparse: ["(none)", "DeviceIoControl(FSCTL_SET_SPARSE)"],
  mmap: ["mmap", "MapViewOfFile"],
  munmap: ["munmap", "UnmapViewOfFile"],
  msync: ["msync", "FlushViewOfFile"],
  fsync: ["fsync", "FlushFileBuffers"],
  pread: ["pread", "ReadFile"],
  pwrite: ["pwrite", "WriteFile"],
  fstatfs: ["fstatfs", "GetVolumeInformationByHandleW"],
  lseek: ["lseek", "(none)"],
  freeBytes: ["fstatfs", "(none)"],
} as const;

/** Turns the shim's "negative errno" convention into a value or an ArenaError. */
function check(returned: number | bigint, call: keyof typeof callNames, path: string): number {
  const result = Number(returned);
  if (result >= 0) return result;
  const errno = -result;
  const code = errnoName(errno);
  const syscall = callNames[call][isWindows ? 1 : 0];
  throw new ArenaError(code, `${syscall} failed for ${path}: ${describeError(errno)}`, { syscall, path, errno });
}

const encoder = new TextEncoder();
/**
 * A path as the shim takes it: NUL-terminated UTF-8 on Linux and macOS; UTF-16 on
 * Windows, whose file names are UTF-16 (a JavaScript string's code units, as they are).
 * Every open encodes two paths (PATH, PATH.shared); an arena reopened in a loop
 * encodes the same two again, so the last few are kept (encoding costs ~0.2 us;
 * a look-up by the same string is a hash already made).
 */
const recentPaths = new Map<string, Uint8Array>();
const recentPathsLimit = 8;
function pathArgument(path: string): Uint8Array {
  let bytes = recentPaths.get(path);
  if (bytes === undefined) {
    bytes = isWindows ? utf16(path) : encoder.encode(`${path}\0`);
    if (recentPaths.size >= recentPathsLimit) recentPaths.clear();
    recentPaths.set(path, bytes);
  }
  return bytes;
}

function utf16(path: string): Uint8Array {
  const units = new Uint16Array(path.length + 1);
  for (let index = 0; index < path.length; index++) units[index] = path.charCodeAt(index);
  return new Uint8Array(units.buffer);
}

// mfa_open's options (native/shim.zig).
const OPEN_CREATE = 1;
const OPEN_READ_ONLY = 2;

/**
 * Opens `path` read-write (read-only if `readOnly`), creating it (mode 0644) if
 * `create`. Returns the fd. The descriptor (handle, on Windows) is not inherited by
 * child processes. Only these descriptors can be passed to the functions here: on
 * Windows, a node:fs descriptor is not a handle.
 */
export function openFile(path: string, options: { create: boolean; readOnly?: boolean }): number {
  const flags = (options.create ? OPEN_CREATE : 0) | (options.readOnly ? OPEN_READ_ONLY : 0);
  return check(native().mfa_open(pathArgument(path), flags), "open", path);
}

/**
 * Opens an existing `path` read-write (O_CLOEXEC); returns -1, without an
 * exception (which costs more than the open), when it does not exist.
 */
export function openExistingFile(path: string): number {
  const result = Number(native().mfa_open(pathArgument(path), 0));
  if (result < 0 && errnoName(-result) === "ENOENT") return -1;
  return check(result, "open", path);
}

/** Closes `fd`; `path` only names it in errors. */
export function closeFile(fd: number, path: string): void {
  check(native().mfa_close(fd), "close", path);
}

// flock(2)'s operations; the same numbers on Linux and macOS.
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/**
 * flock(2) lock modes: many shared holders, or one exclusive. On Windows, LockFileEx
 * over the whole file, which is mandatory: a shared lock forbids every handle to
 * write, an exclusive one forbids other handles to read or write (see windows.zig).
 */
export type LockKind = "shared" | "exclusive";

/** Waits until the lock is granted. */
export function lockFile(fd: number, kind: LockKind, path: string): void {
  check(native().mfa_flock(fd, kind === "shared" ? LOCK_SH : LOCK_EX), "lock", path);
}

/** Returns false instead of waiting when another holder is in the way. */
export function tryLockFile(fd: number, kind: LockKind, path: string): boolean {
  const result = Number(native().mfa_flock(fd, (kind === "shared" ? LOCK_SH : LOCK_EX) | LOCK_NB));
  if (result < 0 && isWouldBlock(-result)) return false;
  check(result, "lock", path);
  return true;
}

/** Releases whatever flock lock `fd` holds. */
export function unlockFile(fd: number, path: string): void {
  check(native().mfa_flock(fd, LOCK_UN), "unlock", path);
}

// mfa_range_lock's operations (native/shim.zig).
const RANGE_SHARED = 1;
const RANGE_EXCLUSIVE = 2;
const RANGE_NONBLOCKING = 4;
const RANGE_TEST = 8;

/**
 * What a byte-range lock call did: "done"; "busy" (a non-blocking request that
 * another holder is in the way of, or a test that found one); "unsupported" (no
 * open-file-description locks on this platform: macOS, Linux before 3.15, some sandboxes).
 */
export type RangeLockResult = "done" | "busy" | "unsupported";

function rangeLock(fd: number, operation: number, offsetBytes: number, path: string): RangeLockResult {
  const result = Number(native().mfa_range_lock(fd, operation, offsetBytes));
  if (result < 0) {
    const name = errnoName(-result);
    // EINVAL: a kernel without OFD locks (before Linux 3.15, some sandboxes) does
    // not know the command; our arguments are otherwise always valid.
    if (name === "EOPNOTSUPP" || name === "ENOTSUP" || name === "EINVAL") return "unsupported";
    if (isWouldBlock(-result)) return "busy";
  }
  check(result, "rangeLock", path);
  return result === 1 ? "busy" : "done";
}

/**
 * An open-file-description lock (Linux F_OFD_SETLK) on the one byte at
 * `offsetBytes`: held per open file, like flock, but a lock space of its own,
 * apart from flock's. Waits when `wait`; otherwise "busy" when another holds it.
 */
export function lockRange(fd: number, kind: LockKind, offsetBytes: number, path: string, wait: boolean): RangeLockResult {
  const operation = (kind === "shared" ? RANGE_SHARED : RANGE_EXCLUSIVE) | (wait ? 0 : RANGE_NONBLOCKING);
  return rangeLock(fd, operation, offsetBytes, path);
}

export function unlockRange(fd: number, offsetBytes: number, path: string): RangeLockResult {
  return rangeLock(fd, 0, offsetBytes, path);
}

/** "busy" when another open file holds a lock on the byte (F_OFD_GETLK: takes nothing; works read-only). */
export function testRange(fd: number, offsetBytes: number, path: string): RangeLockResult {
  return rangeLock(fd, RANGE_TEST, offsetBytes, path);
}

/** What fstat says a descriptor is: only "file" can hold an arena. */
export type FileKind = "file" | "directory" | "other";
/** The fstat fields the arena uses. */
export interface FileStatus {
  sizeBytes: number;
  /** st_blocks * 512: the disk actually reserved for the file. */
  allocatedBytes: number;
  kind: FileKind;
  /** "device:inode": the same for every name and descriptor of one file ("" unless asked for). */
  identity: string;
}

const kinds: FileKind[] = ["file", "directory", "other"];
/**
 * fstat's output words (five little-endian i64), reused: read before the next
 * call can overwrite them. Read as 32-bit halves, not as a BigInt64Array, whose
 * every element read makes a BigInt.
 */
const statWords = new Uint32Array(10);
const twoToThe32 = 2 ** 32;
/** Output word `index` as a number; exact below 2^53 (sizes and block counts always are). */
function statWord(index: number): number {
  return statWords[index * 2 + 1]! * twoToThe32 + statWords[index * 2]!;
}
/** Output word `index` as the unsigned decimal it is, exact whatever its size. */
function statWordText(index: number): string {
  const high = statWords[index * 2 + 1]!;
  if (high < 0x200000) return String(high * twoToThe32 + statWords[index * 2]!);
  return String((BigInt(high) << 32n) | BigInt(statWords[index * 2]!));
}
/**
 * fstat: size, disk reserved and kind of the open file; and its identity when
 * `withIdentity` (making the string costs more than the call, so only on request).
 */
export function statFile(fd: number, path: string, withIdentity = false): FileStatus {
  check(native().mfa_fstat(fd, statWords), "fstat", path);
  return {
    sizeBytes: statWord(0),
    allocatedBytes: statWord(1),
    kind: kinds[statWords[4]!]!,
    identity: withIdentity ? `${statWordText(3)}:${statWordText(4)}` : "",
  };
}

/**
 * ftruncate: sets the file size (growing is sparse: no disk is reserved). Windows
 * files are sparse only once marked so: the mark comes first, and a file system
 * without sparse files (FAT, exFAT) grows the file fully allocated instead.
 */
export function truncateFile(fd: number, sizeBytes: number, path: string): void {
  if (isWindows) {
    const result = Number(native().mfa_set_sparse(fd));
    if (result < 0 && !isPreallocationUnsupported(-result)) check(result, "setSparse", path);
  }
  check(native().mfa_ftruncate(fd, sizeBytes), "ftruncate", path);
}

/**
 * Reserves disk for [offset, endOffset). Returns the errno instead of throwing,
 * because the caller decides which failures matter (see isPreallocationUnsupported).
 */
export function reserveDisk(fd: number, offset: number, endOffset: number): number {
  const result = Number(native().mfa_fallocate(fd, offset, endOffset));
  return result < 0 ? -result : 0;
}

const SEEK_HOLE = 0;
const SEEK_DATA = 1;

/**
 * lseek SEEK_HOLE: the first offset at or after `offset` that is not known to
 * hold data (the end of the file counts). A file system without holes, or one
 * that does not say, reports the end of the file.
 */
export function firstHoleAt(fd: number, offset: number, path: string): number {
  const result = Number(native().mfa_seek(fd, offset, SEEK_HOLE));
  // A file system that cannot say proves nothing: a hole right there.
  if (result < 0 && isCallUnsupported(-result)) return offset;
  return check(result, "lseek", path);
}

function isCallUnsupported(errno: number): boolean {
  const name = errnoName(errno);
  return name === "EINVAL" || name === "EOPNOTSUPP" || name === "ENOTSUP";
}

/** lseek SEEK_DATA: the first offset at or after `offset` holding data; undefined when none does. */
export function firstDataAt(fd: number, offset: number, path: string): number | undefined {
  const result = Number(native().mfa_seek(fd, offset, SEEK_DATA));
  if (result < 0 && errnoName(-result) === "ENXIO") return undefined;
  // A file system that cannot say: data right there.
  if (result < 0 && isCallUnsupported(-result)) return offset;
  return check(result, "lseek", path);
}

/**
 * FIEMAP: the end of the run of extents with reserved blocks (written or
 * unwritten) from offset 0, as far as one call over [0, endBytes) shows it; a
 * shorter answer proves no hole. Undefined where it cannot be asked (not Linux,
 * a file system without FIEMAP such as tmpfs, any failure): lseek decides then.
 */
export function reservedPrefixBytes(fd: number, endBytes: number): number | undefined {
  const result = Number(native().mfa_reserved_prefix(fd, endBytes));
  return result < 0 ? undefined : result;
}

/**
 * The bytes still free for this user on the file system that holds `fd` (statfs);
 * Infinity where the shim cannot say (Windows, where nothing reserves disk ahead).
 */
export function freeDiskBytes(fd: number, path: string): number {
  const result = Number(native().mfa_free_bytes(fd));
  if (result < 0 && isCallUnsupported(-result)) return Number.POSITIVE_INFINITY;
  return check(result, "freeBytes", path);
}

/** pread: fills `into` from file offset `offset`; returns the bytes read (short at end of file). */
export function readAt(fd: number, into: Uint8Array, offset: number, path: string): number {
  return check(native().mfa_pread(fd, into, into.byteLength, offset), "pread", path);
}

/** Writes `bytes` at `offset` (pwrite); returns the count written. */
export function writeAt(fd: number, bytes: Uint8Array, offset: number, path: string): number {
  return check(native().mfa_pwrite(fd, bytes, bytes.byteLength, offset), "pwrite", path);
}

/** Which file system holds a file, as statfs tells it (see filesystem.ts). */
export interface FileSystemId {
  /** Linux: statfs f_type, the file system's magic number. */
  magic?: number;
  /** macOS: statfs f_fstypename ("apfs", "nfs", "smbfs", ...). Windows: "NTFS", "ReFS", ... */
  typeName?: string;
  /** Windows: the file is on a network share (which reports the server's file system). */
  remote?: boolean;
}

/** fstatfs: identifies the file system of `fd`, to refuse network and FUSE ones. */
const fileSystemName = new Uint8Array(32);
export function fileSystemOf(fd: number, path: string): FileSystemId {
  const name = fileSystemName;
  const result = check(native().mfa_fstatfs(fd, name, name.byteLength), "fstatfs", path);
  if (process.platform === "linux") return { magic: result };
  const typeName = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
  return isWindows ? { typeName, remote: result === 1 } : { typeName };
}

/**
* Windows: the file behind each mapping, for syncMapping. FlushViewOfFile only
 * starts the writes; waiting for them takes the file's handle (FlushFileBuffers).
 */
const fileOfMapping = new Map<number, number>();

/**
 * Maps the first `lengthBytes` of the file read-write: "shared" (writes reach the
 * file), or "private" (copy-on-write: writes stay in this process's own pages and
 * never reach the file; works on a read-only descriptor). At `at` exactly (over a
 * placeholder range the caller owns; never on Windows) when given, else anywhere.
 * Returns the address.
 */
export function mapFile(fd: number, lengthBytes: number, path: string, sharing: "shared" | "private" = "shared", at = 0): number {
  const address = check(native().mfa_mmap(fd, lengthBytes, sharing === "private" ? 1 : 0, at), "mmap", path);
  if (isWindows) fileOfMapping.set(address, fd);
  return address;
}

/** munmap. Every view over the range must be detached first: touching it after would crash. */
export function unmap(address: number, lengthBytes: number, path: string): void {
  fileOfMapping.delete(address);
  check(native().mfa_munmap(address, lengthBytes), "munmap", path);
}

/**
 * Replaces a page-aligned range of a mapping with private zero pages (mmap
 * MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE), read-write or read-only: the file
 * is no longer mapped there, but the addresses stay readable, as zeros. Not on
 * Windows, which unmaps a view whole or not at all (see lib/arena/platform.ts).
 */
export function replaceWithPlaceholder(address: number, lengthBytes: number, path: string, writable: boolean): void {
  check(native().mfa_mmap_placeholder(address, lengthBytes, writable ? 1 : 0), "mmap", path);
}

/**
 * Gives the placeholder at [address, address + lengthBytes) to the process-wide
 * pool (one per process, shared by every thread: module state is per thread).
 * False when the pool is full: the range then stays reserved as it is.
 */
export function poolPlaceholder(address: number, lengthBytes: number): boolean {
  return Number(native().mfa_pool_put(address, lengthBytes)) === 0;
}

/** The oldest pooled placeholder of `lengthBytes`, if more than `keep` are pooled; else 0. Now the caller's. */
export function takePooledPlaceholder(lengthBytes: number, keep: number): number {
  return Number(native().mfa_pool_take(lengthBytes, keep));
}

/**
 * msync(MS_SYNC): writes dirty pages of the range to the file and waits. Windows:
 * FlushViewOfFile, then FlushFileBuffers on the mapped file, which waits.
 */
// madvise(2) advice, Linux 5.14+: fault pages in as a read, or as a write, would.
const MADV_POPULATE_READ = 22;
const MADV_POPULATE_WRITE = 23;

/**
 * Faults in every page of `view` (a view of a mapping that starts on a page
 * boundary) with one system call, as the first read ("read") or store ("write")
 * to each would. Returns 0 or the errno, without throwing: EINVAL means a kernel
 * without the advice (or macOS); the caller decides what any failure means.
 */
export function populateMapping(view: Uint8Array, access: "read" | "write"): number {
  if (process.platform !== "linux") return 22; // EINVAL: no such advice here
  const result = Number(native().mfa_madvise(view, view.byteLength, access === "read" ? MADV_POPULATE_READ : MADV_POPULATE_WRITE));
  return result < 0 ? -result : 0;
}

const MADV_HUGEPAGE = 14;
const pageBytes = 4096;

/**
 * madvise(MADV_HUGEPAGE) on the whole pages inside `view` (any memory: an
 * ArrayBuffer's, a mapping's): the kernel backs its 2 MiB-aligned parts with 2 MiB
 * pages where it can. For bench/host-memory.ts, which shows what fresh 2 MiB pages
 * cost on first touch. Returns 0 or the errno (EINVAL off Linux).
 */
export function adviseHugePages(view: Uint8Array): number {
  if (process.platform !== "linux" || view.byteLength < 2 * pageBytes) return 22;
  const address = addressOf(view);
  const start = Math.ceil(address / pageBytes) * pageBytes - address;
  const end = Math.floor((address + view.byteLength) / pageBytes) * pageBytes - address;
  const result = Number(native().mfa_madvise(view.subarray(start, end), end - start, MADV_HUGEPAGE));
  return result < 0 ? -result : 0;
}

/** msync(MS_SYNC): writes dirty pages of the range to the file and waits. */
export function syncMapping(address: number, lengthBytes: number, path: string): void {
  check(native().mfa_msync(address, lengthBytes), "msync", path);
  const fd = fileOfMapping.get(address);
  if (fd !== undefined) check(native().mfa_fsync(fd), "fsync", path);
}

/**
 * An ArrayBuffer over mapped memory, with no copy and no finalizer: the mapping
 * owns the memory. At most maxExternalBufferBytes long.
 */
export function bufferOverMemory(address: number, offset: number, lengthBytes: number): ArrayBuffer {
  const buffer = toArrayBuffer(address as Pointer, offset, lengthBytes);
  if (buffer.byteLength !== lengthBytes) {
    // Bun before 1.3.3 truncates the length to 32 bits: 4 GiB becomes 0 (measured).
    throw new ArenaError(
      "ERR_ARENA_UNSUPPORTED_RUNTIME",
      `Bun ${Bun.version} cannot make a buffer of ${lengthBytes} bytes over mapped memory (it made one of ` +
        `${buffer.byteLength}); arenas of 4 GiB and more need Bun 1.3.3 or later`,
    );
  }
  return buffer;
}

/** toArrayBuffer refuses lengths over 4 GiB (measured, Bun 1.4). */
export const maxExternalBufferBytes = 2 ** 32;
