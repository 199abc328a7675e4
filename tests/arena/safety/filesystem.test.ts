/**
 * Issue 3, point 7: network and odd file systems. lib/arena/filesystem.ts classifies a
 * statfs result; create refuses unsafe ones with ERR_ARENA_UNSUPPORTED_FS unless
 * allowUnsafeFileSystem is true.
 *
 * Broken variants caught: a missing or mistyped magic number (NFS 0x6969, SMB
 * 0x517b, SMB2 0xfe534d42, CIFS 0xff534d42, FUSE 0x65735546); a sign-extended
 * f_type (0xff534d42 read as a negative c_long would not match: the real-file
 * tests check the shim masks it, and the classifier test checks the unsigned
 * value); local file systems refused by mistake (/tmp on ext4, /dev/shm on
 * tmpfs must open); a truthy non-boolean opt-in being accepted.
 * Not covered here: an end-to-end refusal on a real NFS/FUSE mount (none can be
 * mounted in this sandbox); unsafe-filesystem.test.ts drives create() through
 * a probe that answers "nfs".
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { unsafeFileSystemName } from "../../../lib/arena/filesystem.ts";
import { fileSystemOf, openFile, closeFile } from "../../../lib/native/native.ts";
import { tempDirectory } from "../../support/temp.ts";

test("Linux magic numbers of network and FUSE file systems are unsafe", () => {
  const unsafe: [number, string][] = [
    [0x6969, "nfs"],
    [0x517b, "smb"],
    [0xfe534d42, "smb2"],
    [0xff534d42, "cifs"],
    [0x65735546, "fuse"],
    [0x01021997, "9p"],
    [0x00c36400, "ceph"],
  ];
  for (const [magic, name] of unsafe) expect(unsafeFileSystemName({ magic })).toBe(name);
});

test("Linux magic numbers of local file systems are safe", () => {
  const local = [0xef53 /* ext2/3/4 */, 0x58465342 /* xfs */, 0x9123683e /* btrfs */, 0x01021994 /* tmpfs */, 0x794c7630 /* overlayfs */, 0x2fc12fc1 /* zfs */];
  for (const magic of local) expect(unsafeFileSystemName({ magic })).toBeUndefined();
  expect(unsafeFileSystemName({})).toBeUndefined();
});

test("macOS file system names", () => {
  for (const name of ["nfs", "smbfs", "afpfs", "webdav", "macfuse", "osxfuse", "fusefs"]) {
    expect(unsafeFileSystemName({ typeName: name })).toBe(name);
  }
  for (const name of ["apfs", "hfs", "msdos", "exfat"]) expect(unsafeFileSystemName({ typeName: name })).toBeUndefined();
});

for (const parent of ["/tmp", "/dev/shm"]) {
  // On that very file system; a missing one fails its test below.
  const dir = existsSync(parent) ? tempDirectory("mfa-fs-", parent) : undefined;
  test(`a real file on ${parent} is seen as local and opens`, () => {
    if (dir === undefined) throw new Error(`${parent} does not exist on this machine`);
    const path = join(dir, "local.arena");
    const arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
    expect(arena.append(new Uint8Array([1, 2, 3]))).toBe(32);
    arena.close();
    const fd = openFile(path, { create: false });
    const id = fileSystemOf(fd, path);
    closeFile(fd, path);
    expect(id.magic).toBeGreaterThan(0); // unsigned, masked to 32 bits
    expect(unsafeFileSystemName(id)).toBeUndefined();
    if (parent === "/dev/shm") expect(id.magic).toBe(0x01021994);
  });
}

const optionDir = tempDirectory("mfa-fs-option-");
test("allowUnsafeFileSystem must be a boolean", () => {
  const path = join(optionDir, "option.arena");
  for (const bad of [1, "true", "yes", {}, null]) {
    // @ts-expect-error: the point is a caller who ignores the types
    expect(() => MappedFileRegionArena.create(path, { capacity: 1 << 20, allowUnsafeFileSystem: bad })).toThrow(TypeError);
  }
  expect(existsSync(path)).toBe(false); // refused before touching the disk
  for (const good of [true, false, undefined]) {
    MappedFileRegionArena.create(path, { capacity: 1 << 20, allowUnsafeFileSystem: good }).close();
  }
});
