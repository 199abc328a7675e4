//! The shim on Windows: the same functions as posix.zig, made of Win32 calls, each
//! returning a non-negative result or -GetLastError(). See shim.zig for the
//! conventions; lib/native/errno.ts names the error numbers.
//!
//! What differs from POSIX, and how each function bridges it:
//! - Paths arrive as UTF-16 (native.ts encodes them), so no conversion happens here
//!   and every name Windows can hold, lone surrogates included, round-trips.
//! - Locks are LockFileEx over the whole file (offset 0, length 2^64-1), as LLVM
//!   takes them. They belong to the handle, as flock locks belong to the open file
//!   description. Unlike flock they are mandatory: a shared lock forbids writes by
//!   everyone, the holder included, and an exclusive one forbids other handles to
//!   read or write. The protocol reads under shared locks and writes only under an
//!   exclusive lock held through the same handle, which Windows allows.
//! - A mapping is a section object. It is named after the file's identity (volume
//!   serial number and file index), so every process that maps the file opens the
//!   same section, as LLVM's named mapping intends; LLVM names it after the path as
//!   given, which a relative path or a renamed-and-recreated file makes name a
//!   different file. The section handle is closed as soon as the view exists (the
//!   view keeps the section alive): an open section handle alone would forbid the
//!   last closer to shrink the file.
//! - A file cannot be shrunk below a mapped view (ERROR_USER_MAPPED_FILE); the
//!   close protocol unmaps before it truncates.

const std = @import("std");
const windows = std.os.windows;
const open_create = @import("shim.zig").open_create;
const open_read_only = @import("shim.zig").open_read_only;

const HANDLE = windows.HANDLE;
const BOOL = windows.BOOL;
const DWORD = windows.DWORD;
const WINAPI = std.builtin.CallingConvention.winapi;

extern "kernel32" fn GetLastError() callconv(WINAPI) DWORD;
extern "kernel32" fn CreateFileW(name: [*:0]const u16, access: DWORD, share: DWORD, security: ?*anyopaque, disposition: DWORD, flags: DWORD, template: ?HANDLE) callconv(WINAPI) HANDLE;
extern "kernel32" fn GetFileAttributesW(name: [*:0]const u16) callconv(WINAPI) DWORD;
extern "kernel32" fn CloseHandle(handle: HANDLE) callconv(WINAPI) BOOL;
extern "kernel32" fn LockFileEx(file: HANDLE, flags: DWORD, reserved: DWORD, length_low: DWORD, length_high: DWORD, overlapped: *windows.OVERLAPPED) callconv(WINAPI) BOOL;
extern "kernel32" fn UnlockFileEx(file: HANDLE, reserved: DWORD, length_low: DWORD, length_high: DWORD, overlapped: *windows.OVERLAPPED) callconv(WINAPI) BOOL;
extern "kernel32" fn GetFileType(file: HANDLE) callconv(WINAPI) DWORD;
extern "kernel32" fn GetFileInformationByHandle(file: HANDLE, info: *windows.BY_HANDLE_FILE_INFORMATION) callconv(WINAPI) BOOL;
extern "kernel32" fn GetFileInformationByHandleEx(file: HANDLE, class: windows.FILE_INFO_BY_HANDLE_CLASS, info: *anyopaque, size: DWORD) callconv(WINAPI) BOOL;
extern "kernel32" fn SetFileInformationByHandle(file: HANDLE, class: windows.FILE_INFO_BY_HANDLE_CLASS, info: *anyopaque, size: DWORD) callconv(WINAPI) BOOL;
extern "kernel32" fn DeviceIoControl(device: HANDLE, code: DWORD, in: ?*anyopaque, in_size: DWORD, out: ?*anyopaque, out_size: DWORD, returned: *DWORD, overlapped: ?*windows.OVERLAPPED) callconv(WINAPI) BOOL;
extern "kernel32" fn CreateFileMappingW(file: HANDLE, security: ?*anyopaque, protect: DWORD, size_high: DWORD, size_low: DWORD, name: ?[*:0]const u16) callconv(WINAPI) ?HANDLE;
extern "kernel32" fn MapViewOfFile(section: HANDLE, access: DWORD, offset_high: DWORD, offset_low: DWORD, length: usize) callconv(WINAPI) ?*anyopaque;
extern "kernel32" fn UnmapViewOfFile(address: *const anyopaque) callconv(WINAPI) BOOL;
extern "kernel32" fn FlushViewOfFile(address: *const anyopaque, length: usize) callconv(WINAPI) BOOL;
extern "kernel32" fn FlushFileBuffers(file: HANDLE) callconv(WINAPI) BOOL;
extern "kernel32" fn ReadFile(file: HANDLE, buffer: [*]u8, length: DWORD, read: *DWORD, overlapped: *windows.OVERLAPPED) callconv(WINAPI) BOOL;
extern "kernel32" fn WriteFile(file: HANDLE, buffer: [*]const u8, length: DWORD, written: *DWORD, overlapped: *windows.OVERLAPPED) callconv(WINAPI) BOOL;
extern "kernel32" fn GetVolumeInformationByHandleW(file: HANDLE, volume_name: ?[*]u16, volume_name_size: DWORD, serial: ?*DWORD, max_component: ?*DWORD, flags: ?*DWORD, file_system_name: [*]u16, file_system_name_size: DWORD) callconv(WINAPI) BOOL;

const GENERIC_READ: DWORD = 0x8000_0000;
const GENERIC_WRITE: DWORD = 0x4000_0000;
const FILE_SHARE_ALL: DWORD = 0x1 | 0x2 | 0x4; // read, write, delete: as a POSIX open shares
const OPEN_EXISTING: DWORD = 3;
const OPEN_ALWAYS: DWORD = 4;
const FILE_ATTRIBUTE_NORMAL: DWORD = 0x80;
const FILE_ATTRIBUTE_DIRECTORY: DWORD = 0x10;
const INVALID_FILE_ATTRIBUTES: DWORD = 0xffff_ffff;
const LOCKFILE_FAIL_IMMEDIATELY: DWORD = 0x1;
const LOCKFILE_EXCLUSIVE_LOCK: DWORD = 0x2;
const FILE_TYPE_DISK: DWORD = 0x1;
const FSCTL_SET_SPARSE: DWORD = 0x0009_00c4;
const PAGE_READWRITE: DWORD = 0x04;
const PAGE_WRITECOPY: DWORD = 0x08;
const FILE_MAP_COPY: DWORD = 0x1;
const FILE_MAP_WRITE: DWORD = 0x2;
const FILE_MAP_READ: DWORD = 0x4;
const ERROR_ACCESS_DENIED: DWORD = 5;
const ERROR_HANDLE_EOF: DWORD = 38;
const ERROR_DIRECTORY_NOT_SUPPORTED: DWORD = 336;
const ERROR_NOT_SUPPORTED: DWORD = 50;

// flock(2)'s operation numbers, which native.ts passes on every platform.
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

fn failed() i64 {
    return -@as(i64, GetLastError());
}

fn succeeded(ok: BOOL) i64 {
    return if (ok != 0) 0 else failed();
}

/// The handle an i32 stands for: Windows handles are sign-extended 32-bit values.
fn handle(file: i32) HANDLE {
    return @ptrFromInt(@as(usize, @bitCast(@as(isize, file))));
}

/// Opens `path` (UTF-16, NUL-terminated) for reading and writing (for reading only
/// with open_read_only), shared with every other opener; creates it with open_create. The handle is not inherited by child
/// processes (no security attributes), as O_CLOEXEC makes it on POSIX.
///
/// Opening a directory fails with ERROR_ACCESS_DENIED, which would read as a
/// permission problem; it is reported as ERROR_DIRECTORY_NOT_SUPPORTED instead
/// (one more call, on that failure only), so that the caller can say what it is.
export fn mfa_open(path: [*:0]const u16, options: i32) i64 {
    const disposition = if (options & open_create != 0) OPEN_ALWAYS else OPEN_EXISTING;
    const access = if (options & open_read_only != 0) GENERIC_READ else GENERIC_READ | GENERIC_WRITE;
    const file = CreateFileW(path, access, FILE_SHARE_ALL, null, disposition, FILE_ATTRIBUTE_NORMAL, null);
    if (file == windows.INVALID_HANDLE_VALUE) {
        const code = GetLastError();
        if (code == ERROR_ACCESS_DENIED) {
            const attributes = GetFileAttributesW(path);
            if (attributes != INVALID_FILE_ATTRIBUTES and attributes & FILE_ATTRIBUTE_DIRECTORY != 0) {
                return -@as(i64, ERROR_DIRECTORY_NOT_SUPPORTED);
            }
        }
        return -@as(i64, code);
    }
    // The low 32 bits, as a non-negative number; handle() sign-extends them back.
    return @as(u32, @truncate(@intFromPtr(file)));
}

export fn mfa_close(file: i32) i64 {
    return succeeded(CloseHandle(handle(file)));
}

fn wholeFile() windows.OVERLAPPED {
    return std.mem.zeroes(windows.OVERLAPPED); // offset 0
}

/// `operation` is flock's LOCK_SH / LOCK_EX / LOCK_UN, optionally | LOCK_NB: a
/// LockFileEx or UnlockFileEx of the whole file. A lock that must wait under
/// LOCK_NB fails with ERROR_LOCK_VIOLATION.
export fn mfa_flock(file: i32, operation: i32) i64 {
    var overlapped = wholeFile();
    const all = std.math.maxInt(DWORD);
    if (operation & LOCK_UN != 0) return succeeded(UnlockFileEx(handle(file), 0, all, all, &overlapped));
    var flags: DWORD = 0;
    if (operation & LOCK_EX != 0) flags |= LOCKFILE_EXCLUSIVE_LOCK;
    if (operation & LOCK_NB != 0) flags |= LOCKFILE_FAIL_IMMEDIATELY;
    return succeeded(LockFileEx(handle(file), flags, 0, all, all, &overlapped));
}

const FILE_STANDARD_INFO = extern struct {
    AllocationSize: i64,
    EndOfFile: i64,
    NumberOfLinks: DWORD,
    DeletePending: u8,
    Directory: u8,
};

/// Writes [size_bytes, allocated_bytes, kind, device, inode] to `out`, as
/// posix.zig does. allocated_bytes is FILE_STANDARD_INFO.AllocationSize, the
/// clusters the file system holds for it; device and inode are the volume serial
/// number and the file index, the identity the section name is made of. A handle
/// that is not a disk file (a console, a pipe, a device such as NUL) is kind
/// "other" without asking for more.
export fn mfa_fstat(file: i32, out: *[5]i64) i64 {
    if (GetFileType(handle(file)) != FILE_TYPE_DISK) {
        out.* = .{ 0, 0, 2, 0, 0 };
        return 0;
    }
    var info: FILE_STANDARD_INFO = undefined;
    if (GetFileInformationByHandleEx(handle(file), .FileStandardInfo, &info, @sizeOf(FILE_STANDARD_INFO)) == 0) return failed();
    var identity: windows.BY_HANDLE_FILE_INFORMATION = undefined;
    if (GetFileInformationByHandle(handle(file), &identity) == 0) return failed();
    const index = (@as(u64, identity.nFileIndexHigh) << 32) | identity.nFileIndexLow;
    out.* = .{ info.EndOfFile, info.AllocationSize, if (info.Directory != 0) 1 else 0, identity.dwVolumeSerialNumber, @bitCast(index) };
    return 0;
}

/// SEEK_HOLE / SEEK_DATA have no call here (FSCTL_QUERY_ALLOCATED_RANGES would
/// answer, but nothing on Windows reserves a sparse file's holes anyway, see
/// mfa_fallocate): reported as unsupported, and the caller proves nothing by it.
export fn mfa_seek(file: i32, offset: i64, what: i32) i64 {
    _ = .{ file, offset, what };
    return -@as(i64, ERROR_NOT_SUPPORTED);
}

/// No extent map is read here (see mfa_seek): reported as unsupported.
export fn mfa_reserved_prefix(file: i32, end_offset: i64) i64 {
    _ = .{ file, end_offset };
    return -@as(i64, ERROR_NOT_SUPPORTED);
}

/// The free bytes of the file's volume would need its path (GetDiskFreeSpaceExW);
/// since mfa_fallocate reserves nothing here there is no reservation to refuse
/// early: reported as unsupported, and the caller skips the check.
export fn mfa_free_bytes(file: i32) i64 {
    _ = file;
    return -@as(i64, ERROR_NOT_SUPPORTED);
}

/// Sets the end of the file. Growing a sparse file adds a hole; growing a file
/// that is not sparse allocates (and zeroes, lazily) every new cluster.
export fn mfa_ftruncate(file: i32, size_bytes: i64) i64 {
    var end_of_file: i64 = size_bytes;
    return succeeded(SetFileInformationByHandle(handle(file), .FileEndOfFileInfo, &end_of_file, @sizeOf(i64)));
}

/// Marks the file sparse (FSCTL_SET_SPARSE), so that growing it to the capacity
/// takes no disk. File systems without sparse files (FAT, exFAT) refuse with
/// ERROR_INVALID_FUNCTION; the file then grows fully allocated.
export fn mfa_set_sparse(file: i32) i64 {
    var returned: DWORD = 0;
    return succeeded(DeviceIoControl(handle(file), FSCTL_SET_SPARSE, null, 0, null, 0, &returned, null));
}

/// Windows has no call that reserves disk for a range of a sparse file (NTFS
/// allocates clusters of a sparse file only when data is written to them), so this
/// reports ERROR_NOT_SUPPORTED, which the caller treats as "the file system cannot
/// reserve", as LLVM does. On a file that is not sparse, growing it reserved
/// everything already. See docs/platforms.md.
export fn mfa_fallocate(file: i32, offset: i64, end_offset: i64) i64 {
    _ = .{ file, offset, end_offset };
    return -@as(i64, ERROR_NOT_SUPPORTED);
}

/// "Local\mapped-file-arena-VVVVVVVV-IIIIIIIIIIIIIIII": volume serial number and
/// file index, which together identify the file on this machine.
const MappingName = [64:0]u16;

fn mappingName(info: windows.BY_HANDLE_FILE_INFORMATION) MappingName {
    var ascii: [64]u8 = undefined;
    const text = std.fmt.bufPrint(&ascii, "Local\\mapped-file-arena-{x:0>8}-{x:0>8}{x:0>8}", .{
        info.dwVolumeSerialNumber, info.nFileIndexHigh, info.nFileIndexLow,
    }) catch unreachable; // 51 characters
    var name: MappingName = std.mem.zeroes(MappingName);
    for (text, 0..) |char, index| name[index] = char;
    return name;
}

/// Maps `length_bytes` of the file from offset 0, shared and read-write, through
/// the section named after the file (see the top of this file); or when `private`
/// != 0, copy-on-write (mapPrivate). Returns the address. If the file is shorter
/// than length_bytes, making the shared section grows it.
/// `at` must be 0: a view cannot be placed over a placeholder here (the arena never
/// asks, see lib/arena/platform.ts).
export fn mfa_mmap(file: i32, length_bytes: i64, private: i32, at_address: i64) i64 {
    if (at_address != 0) return -@as(i64, ERROR_NOT_SUPPORTED);
    if (private != 0) return mapPrivate(file, length_bytes);
    var info: windows.BY_HANDLE_FILE_INFORMATION = undefined;
    if (GetFileInformationByHandle(handle(file), &info) == 0) return failed();
    const name = mappingName(info);
    const length: u64 = @intCast(length_bytes);
    const section = CreateFileMappingW(handle(file), null, PAGE_READWRITE, @truncate(length >> 32), @truncate(length), &name) orelse return failed();
    defer _ = CloseHandle(section);
    const address = MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, @intCast(length)) orelse return failed();
    return @intCast(@intFromPtr(address));
}

/// A read-only opener's view: writes go to pages of this process, never to the
/// file. An unnamed section (the named one is the writers', PAGE_READWRITE, which a
/// read-only handle cannot make, and a PAGE_WRITECOPY one under that name would
/// refuse writers' views), PAGE_WRITECOPY, FILE_MAP_COPY. Views of one local file
/// are coherent across sections, so writers' stores are seen. length_bytes must
/// not pass the end of the file (the section is the file's size).
fn mapPrivate(file: i32, length_bytes: i64) i64 {
    const section = CreateFileMappingW(handle(file), null, PAGE_WRITECOPY, 0, 0, null) orelse return failed();
    defer _ = CloseHandle(section);
    const address = MapViewOfFile(section, FILE_MAP_COPY, 0, 0, @intCast(length_bytes)) orelse return failed();
    return @intCast(@intFromPtr(address));
}

fn pointer(address: i64) *const anyopaque {
    return @ptrFromInt(@as(usize, @intCast(address)));
}

/// Unmaps the view at `address` (the whole view: Windows unmaps views, not ranges).
export fn mfa_munmap(address: i64, length_bytes: i64) i64 {
    _ = length_bytes;
    return succeeded(UnmapViewOfFile(pointer(address)));
}

/// Writes the dirty pages of the range to the file. This only starts the writes to
/// the disk; mfa_fsync waits for them.
export fn mfa_msync(address: i64, length_bytes: i64) i64 {
    return succeeded(FlushViewOfFile(pointer(address), @intCast(length_bytes)));
}

/// Returns once the file's data and metadata are on the disk (FlushFileBuffers).
export fn mfa_fsync(file: i32) i64 {
    return succeeded(FlushFileBuffers(handle(file)));
}

fn at(offset: i64) windows.OVERLAPPED {
    var overlapped = std.mem.zeroes(windows.OVERLAPPED);
    const position: u64 = @intCast(offset);
    overlapped.DUMMYUNIONNAME.DUMMYSTRUCTNAME = .{ .Offset = @truncate(position), .OffsetHigh = @truncate(position >> 32) };
    return overlapped;
}

fn chunk(length_bytes: i64) DWORD {
    return @intCast(@min(length_bytes, std.math.maxInt(DWORD)));
}

/// Reads up to `length_bytes` at `offset` into `buffer`; returns the count read
/// (0 at or past the end of the file, which ReadFile reports as ERROR_HANDLE_EOF).
export fn mfa_pread(file: i32, buffer: [*]u8, length_bytes: i64, offset: i64) i64 {
    var overlapped = at(offset);
    var read: DWORD = 0;
    if (ReadFile(handle(file), buffer, chunk(length_bytes), &read, &overlapped) == 0) {
        return if (GetLastError() == ERROR_HANDLE_EOF) 0 else failed();
    }
    return read;
}

/// Writes `length_bytes` from `buffer` at `offset`; returns the count written.
export fn mfa_pwrite(file: i32, buffer: [*]const u8, length_bytes: i64, offset: i64) i64 {
    var overlapped = at(offset);
    var written: DWORD = 0;
    if (WriteFile(handle(file), buffer, chunk(length_bytes), &written, &overlapped) == 0) return failed();
    return written;
}

/// Identifies the file system that holds the file: copies its name ("NTFS", "ReFS",
/// "FAT32", ...) NUL-terminated into `name`, and returns 1 if the file is on a
/// network share (FileRemoteProtocolInfo answers only for those), else 0. A share
/// reports the server's file system name, so the name alone cannot tell.
export fn mfa_fstatfs(file: i32, name: [*]u8, name_capacity: i64) i64 {
    var wide: [261]u16 = undefined; // MAX_PATH + 1, as the documentation asks
    if (GetVolumeInformationByHandleW(handle(file), null, 0, null, null, null, &wide, wide.len) == 0) return failed();
    const capacity: usize = @intCast(name_capacity);
    if (capacity > 0) {
        const type_name = std.mem.sliceTo(&wide, 0);
        const n = @min(type_name.len, capacity - 1);
        for (type_name[0..n], 0..) |char, index| name[index] = if (char < 0x80) @intCast(char) else '?';
        name[n] = 0;
    }
    var remote: [256]u8 align(8) = undefined;
    const is_remote = GetFileInformationByHandleEx(handle(file), .FileRemoteProtocolInfo, &remote, remote.len) != 0;
    return @intFromBool(is_remote);
}

/// The inode lock of posix.zig (an open-file-description lock on one byte) has no
/// counterpart here: a LockFileEx range on the arena's file would be mandatory and
/// would meet the whole-file locks every opener takes. Reported as unsupported, as
/// on macOS, and the protocol does without it.
export fn mfa_range_lock(file: i32, operation: i32, offset: i64) i64 {
    _ = .{ file, operation, offset };
    return -@as(i64, ERROR_NOT_SUPPORTED);
}

/// POSIX replaces a range of a mapping with zero pages in place; a view on Windows
/// is unmapped whole or not at all, and there is no such call. The arena leaves
/// such a view mapped instead (lib/arena/platform.ts) and never calls this.
export fn mfa_mmap_placeholder(address: i64, length_bytes: i64, writable: i32) i64 {
    _ = .{ address, length_bytes, writable };
    return -@as(i64, ERROR_NOT_SUPPORTED);
}

/// No placeholders on Windows (above), so nothing to pool; never called.
export fn mfa_pool_put(address: i64, length_bytes: i64) i64 {
    _ = .{ address, length_bytes };
    return -@as(i64, ERROR_NOT_SUPPORTED);
}

export fn mfa_pool_take(length_bytes: i64, keep: i64) i64 {
    _ = .{ length_bytes, keep };
    return 0;
}

/// madvise has no Windows counterpart the arena needs (PrefetchVirtualMemory only
/// reads ahead); reported as unsupported.
export fn mfa_madvise(address: [*]u8, length_bytes: i64, advice: i32) i64 {
    _ = .{ address, length_bytes, advice };
    return -@as(i64, ERROR_NOT_SUPPORTED);
}
