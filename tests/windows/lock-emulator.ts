/**
 * Windows' mandatory byte-range locks, emulated in one process on any platform.
 *
 * On Windows a LockFileEx lock is enforced on I/O: while a handle holds a shared
 * lock, no handle may write the locked range (the holder included); while a handle
 * holds an exclusive lock, no other handle may read or write it. Wine does not
 * enforce this (docs/platforms.md), so a protocol that read or wrote a file the
 * wrong way would pass every test under Wine and fail on Windows. This wraps the
 * native layer's functions (see children/emulate-windows-locks.ts for how), keeps
 * each handle's lock, and records every call that Windows would refuse. Changing
 * a file's size is treated as a write. Mapped views are not subject to byte-range
 * locks on Windows, and are not checked.
 */
import type * as Native from "../../lib/native/native.ts";

type LockKind = Native.LockKind;

/** The handles of each file, by the path they were opened with, and the lock each holds. */
const fileOfHandle = new Map<number, string>();
const lockOfHandle = new Map<number, LockKind>();
export const violations: string[] = [];
/** How many reads, writes and resizes were checked: a run that checked none proves nothing. */
export const checked = { read: 0, write: 0, resize: 0 };

function othersOnFile(fd: number): number[] {
  const file = fileOfHandle.get(fd);
  return [...fileOfHandle].filter(([other, path]) => other !== fd && path === file).map(([other]) => other);
}

function checkRead(fd: number, call: "read"): void {
  checked[call]++;
  if (othersOnFile(fd).some((other) => lockOfHandle.get(other) === "exclusive")) {
    violations.push(`${call} of ${fileOfHandle.get(fd)} while another handle holds it exclusively`);
  }
}

function checkWrite(fd: number, call: "write" | "resize"): void {
  checked[call]++;
  const file = fileOfHandle.get(fd);
  if (lockOfHandle.get(fd) === "shared") violations.push(`${call} of ${file} through a handle that holds a shared lock`);
  for (const other of othersOnFile(fd)) {
    const lock = lockOfHandle.get(other);
    if (lock !== undefined) violations.push(`${call} of ${file} while another handle holds a ${lock} lock`);
  }
}

/** The native functions, wrapped: same results, with every call checked as Windows would. */
export function emulate(native: typeof Native) {
  return {
    openFile: (path: string, options: { create: boolean }) => {
      const fd = native.openFile(path, options);
      fileOfHandle.set(fd, path);
      return fd;
    },
    closeFile: (fd: number, path: string) => {
      fileOfHandle.delete(fd);
      lockOfHandle.delete(fd);
      native.closeFile(fd, path);
    },
    lockFile: (fd: number, kind: LockKind, path: string) => {
      native.lockFile(fd, kind, path);
      lockOfHandle.set(fd, kind);
    },
    tryLockFile: (fd: number, kind: LockKind, path: string) => {
      const locked = native.tryLockFile(fd, kind, path);
      if (locked) lockOfHandle.set(fd, kind);
      return locked;
    },
    unlockFile: (fd: number, path: string) => {
      native.unlockFile(fd, path);
      lockOfHandle.delete(fd);
    },
    readAt: (fd: number, into: Uint8Array, offset: number, path: string) => {
      checkRead(fd, "read");
      return native.readAt(fd, into, offset, path);
    },
    writeAt: (fd: number, bytes: Uint8Array, offset: number, path: string) => {
      checkWrite(fd, "write");
      return native.writeAt(fd, bytes, offset, path);
    },
    truncateFile: (fd: number, sizeBytes: number, path: string) => {
      checkWrite(fd, "resize");
      native.truncateFile(fd, sizeBytes, path);
    },
  };
}
