/**
 * Which file systems can hold an arena. The arena's atomics are memory operations
 * on a shared mapping: they are coherent between processes on one machine only
 * when every process maps the same page cache pages. Network file systems and most
 * FUSE file systems give each host (or each client) its own copy, so two writers
 * would silently hand out the same bytes. Those are refused unless the caller
 * says it knows better.
 */
import type { FileSystemId } from "../native/native.ts";

// statfs f_type magic numbers (linux/magic.h and the file systems' own headers).
const unsafeLinuxFileSystems = new Map<number, string>([
  [0x6969, "nfs"],
  [0x517b, "smb"],
  [0xfe534d42, "smb2"],
  [0xff534d42, "cifs"],
  [0x65735546, "fuse"],
  [0x01021997, "9p"],
  [0x00c36400, "ceph"],
  [0x5346414f, "afs"],
  [0x6b414653, "afs"],
  [0x73757245, "coda"],
  [0x0bd00bd0, "lustre"],
  [0x47504653, "gpfs"],
]);

// statfs f_fstypename on macOS.
const unsafeDarwinFileSystems = new Set(["nfs", "smbfs", "afpfs", "webdav", "ftp", "macfuse", "osxfuse", "fusefs"]);

/** The name of the file system if an arena on it would be unsafe, else undefined. */
export function unsafeFileSystemName(id: FileSystemId): string | undefined {
  if (id.remote) return `a network share (${id.typeName ?? "unknown file system"})`; // Windows
  if (id.typeName !== undefined) return unsafeDarwinFileSystems.has(id.typeName) ? id.typeName : undefined;
  if (id.magic !== undefined) return unsafeLinuxFileSystems.get(id.magic);
  return undefined;
}
