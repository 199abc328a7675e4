//! The shim on Linux and macOS: each function is one system call (or one EINTR retry
//! loop around it) returning a non-negative result or -errno. See shim.zig for the
//! conventions shared with windows.zig.

const std = @import("std");
const builtin = @import("builtin");
const c = std.c;
const open_create = @import("shim.zig").open_create;
const open_read_only = @import("shim.zig").open_read_only;

const is_linux = builtin.os.tag == .linux;
const is_darwin = builtin.os.tag.isDarwin();

fn failed() i64 {
    return -@as(i64, c._errno().*);
}

fn result(rc: c_int) i64 {
    return if (rc == -1) failed() else rc;
}

/// Opens `path` with O_CLOEXEC: read-write, or read-only with open_read_only;
/// creates it (mode 0644) with open_create. O_NONBLOCK, which regular files
/// ignore, so that a FIFO or a device at the path is opened at once (and then
/// refused by its fstat kind) instead of waiting forever.
export fn mfa_open(path: [*:0]const u8, options: i32) i64 {
    var flags: c.O = .{ .ACCMODE = if (options & open_read_only != 0) .RDONLY else .RDWR, .CLOEXEC = true, .NONBLOCK = true };
    if (options & open_create != 0) flags.CREAT = true;
    while (true) {
        const fd = c.open(path, flags, @as(c.mode_t, 0o644));
        if (fd == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return result(fd);
    }
}

export fn mfa_close(fd: i32) i64 {
    // close() must not be retried on EINTR: the descriptor is gone either way.
    return result(c.close(fd));
}

/// `operation` is flock's own LOCK_SH / LOCK_EX / LOCK_UN, optionally | LOCK_NB
/// (the same numbers on Linux and macOS). Retried on EINTR so that a signal
/// delivered to Bun while it waits for a lock is not reported as a failure.
export fn mfa_flock(fd: i32, operation: i32) i64 {
    while (true) {
        const rc = c.flock(fd, operation);
        if (rc == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return result(rc);
    }
}

pub const file_kind_regular: i64 = 0;
pub const file_kind_directory: i64 = 1;
pub const file_kind_other: i64 = 2;

/// Writes [size_bytes, allocated_bytes, kind, device, inode] to `out`.
/// allocated_bytes is st_blocks * 512: st_blocks counts 512-byte units on both
/// Linux and macOS (LLVM multiplied st_blksize by mistake).
export fn mfa_fstat(fd: i32, out: *[5]i64) i64 {
    var st: c.Stat = undefined;
    if (c.fstat(fd, &st) == -1) return failed();
    const format = st.mode & c.S.IFMT;
    out[0] = st.size;
    out[1] = @as(i64, st.blocks) * 512;
    out[2] = if (format == c.S.IFREG) file_kind_regular else if (format == c.S.IFDIR) file_kind_directory else file_kind_other;
    out[3] = @bitCast(@as(u64, @intCast(st.dev)));
    out[4] = @bitCast(@as(u64, @intCast(st.ino)));
    return 0;
}

pub const seek_hole: i32 = 0;
pub const seek_data: i32 = 1;

/// lseek(fd, offset, SEEK_HOLE) when `what` is seek_hole, SEEK_DATA when seek_data:
/// the offset of the first hole (or data) at or after `offset`. The end of the file
/// counts as a hole; SEEK_DATA past the last data is -ENXIO.
export fn mfa_seek(fd: i32, offset: i64, what: i32) i64 {
    const whence: c_int = if (is_darwin)
        (if (what == seek_hole) 3 else 4)
    else
        (if (what == seek_hole) 4 else 3);
    const position = c.lseek(fd, offset, whence);
    return if (position == -1) failed() else position;
}

export fn mfa_ftruncate(fd: i32, size_bytes: i64) i64 {
    while (true) {
        const rc = c.ftruncate(fd, size_bytes);
        if (rc == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return result(rc);
    }
}

const darwin_fstore = extern struct {
    fst_flags: c_uint,
    fst_posmode: c_int,
    fst_offset: c.off_t,
    fst_length: c.off_t,
    fst_bytesalloc: c.off_t,
};
const darwin_F_PREALLOCATE = 42;
const darwin_F_ALLOCATEALL = 0x4;
const darwin_F_PEOFPOSMODE = 3;

/// Reserves disk for bytes [offset, end_offset) so that later writes through the
/// mapping cannot fail for lack of space (which would be SIGBUS).
///
/// Linux: fallocate(2) with mode 0, which also grows the file when end_offset is
/// past its end (the caller caps end_offset at the capacity). Not posix_fallocate:
/// where the file system cannot reserve, glibc's posix_fallocate falls back to
/// writing a zero into every block that reads as zero, which can overwrite a byte
/// another process writes at the same moment. fallocate reports EOPNOTSUPP instead.
///
/// macOS has no ranged reservation: F_PREALLOCATE adds end_offset - offset bytes
/// after the file's physical end, which for a file already grown sparse to its
/// capacity is not the range asked for. FIXME: find what APFS reserves for a sparse
/// file's holes (LLVM has the same FIXME); until then macOS is no better than LLVM.
export fn mfa_fallocate(fd: i32, offset: i64, end_offset: i64) i64 {
    if (end_offset <= offset) return 0;
    while (true) {
        const rc = if (is_darwin) preallocateDarwin(fd, end_offset - offset) else c.fallocate(fd, 0, offset, end_offset - offset);
        if (rc == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return result(rc);
    }
}

fn preallocateDarwin(fd: i32, length_bytes: i64) c_int {
    var store: darwin_fstore = .{
        .fst_flags = darwin_F_ALLOCATEALL,
        .fst_posmode = darwin_F_PEOFPOSMODE,
        .fst_offset = 0,
        .fst_length = length_bytes,
        .fst_bytesalloc = 0,
    };
    return c.fcntl(fd, darwin_F_PREALLOCATE, &store);
}

/// Maps `length_bytes` of the file from offset 0, read-write: shared, or when
/// `private` != 0 copy-on-write (writes go to pages of this process, never to the
/// file; this works on a read-only descriptor). Anywhere when `at` is 0; else
/// exactly at `at` (MAP_FIXED), which must be a range the caller owns (a
/// placeholder of mfa_mmap_placeholder's). Returns the address.
/// A private mapping is MAP_NORESERVE: a writable private mapping is otherwise
/// charged as committed memory for its whole length (Linux refuses one larger
/// than RAM + swap), though only the pages a reader writes to ever cost any.
export fn mfa_mmap(fd: i32, length_bytes: i64, private: i32, at: i64) i64 {
    const hint: ?*align(std.heap.page_size_min) anyopaque = if (at == 0) null else page(at);
    const flags: c.MAP = .{ .TYPE = if (private != 0) .PRIVATE else .SHARED, .FIXED = at != 0, .NORESERVE = private != 0 };
    const address = c.mmap(hint, @intCast(length_bytes), c.PROT.READ | c.PROT.WRITE, flags, fd, 0);
    if (address == c.MAP_FAILED) return failed();
    return @intCast(@intFromPtr(address));
}

fn page(address: i64) *align(std.heap.page_size_min) anyopaque {
    return @ptrFromInt(@as(usize, @intCast(address)));
}

/// Replaces [address, address + length_bytes) of a mapping, in place and at once,
/// with private anonymous zero pages that reserve no memory until written: what
/// is left under a JavaScript buffer the arena can no longer detach, so that
/// reading it after close finds zeros instead of an unmapped page.
/// Read-only when `writable` is 0: then it commits no memory even under strict
/// overcommit (vm.overcommit_memory=2 ignores MAP_NORESERVE for writable pages).
export fn mfa_mmap_placeholder(address: i64, length_bytes: i64, writable: i32) i64 {
    const protection: c_uint = if (writable != 0) c.PROT.READ | c.PROT.WRITE else c.PROT.READ;
    const placed = c.mmap(page(address), @intCast(length_bytes), protection, .{
        .TYPE = .PRIVATE,
        .ANONYMOUS = true,
        .FIXED = true,
        .NORESERVE = true,
    }, -1, 0);
    if (placed == c.MAP_FAILED) return failed();
    return 0;
}

/// The placeholder ranges closed arenas left (lib/arena/placeholder-pool.ts
/// decides what goes in and when one comes out): kept here, once per process,
/// because JavaScript module state is per thread and a Worker's ranges would
/// otherwise stay reserved for good when it ends. Oldest first; a fixed table,
/// so a put into a full one is refused (-ENOSPC) and that range stays reserved.
const pool_slots = 4096;
var pool_mutex: std.Thread.Mutex = .{};
var pool_addresses: [pool_slots]i64 = undefined;
var pool_lengths: [pool_slots]i64 = undefined;
var pool_count: usize = 0;

export fn mfa_pool_put(address: i64, length_bytes: i64) i64 {
    pool_mutex.lock();
    defer pool_mutex.unlock();
    if (pool_count == pool_slots) return -@as(i64, @intFromEnum(std.posix.E.NOSPC));
    pool_addresses[pool_count] = address;
    pool_lengths[pool_count] = length_bytes;
    pool_count += 1;
    return 0;
}

/// Takes out the oldest range of `length_bytes` if more than `keep` of that
/// length are held (the newest `keep` are never given out); returns its
/// address, or 0 when there is none to give.
export fn mfa_pool_take(length_bytes: i64, keep: i64) i64 {
    pool_mutex.lock();
    defer pool_mutex.unlock();
    var held: i64 = 0;
    var oldest: usize = pool_count;
    for (pool_lengths[0..pool_count], 0..) |length, index| {
        if (length != length_bytes) continue;
        if (held == 0) oldest = index;
        held += 1;
    }
    if (held <= keep) return 0;
    const address = pool_addresses[oldest];
    std.mem.copyForwards(i64, pool_addresses[oldest .. pool_count - 1], pool_addresses[oldest + 1 .. pool_count]);
    std.mem.copyForwards(i64, pool_lengths[oldest .. pool_count - 1], pool_lengths[oldest + 1 .. pool_count]);
    pool_count -= 1;
    return address;
}

export fn mfa_munmap(address: i64, length_bytes: i64) i64 {
    return result(c.munmap(page(address), @intCast(length_bytes)));
}

/// Synchronous msync: returns once the pages have been written to the file.
export fn mfa_msync(address: i64, length_bytes: i64) i64 {
    return result(c.msync(page(address), @intCast(length_bytes), c.MSF.SYNC));
}

/// madvise(2) on [address, address + length_bytes) of a mapping. Returns 0 or
/// -errno: an address that is not page-aligned is EINVAL here, as the kernel
/// would say (not a safety panic), and the caller decides what an unknown advice
/// (EINVAL on an older kernel) means.
export fn mfa_madvise(address: [*]u8, length_bytes: i64, advice: i32) i64 {
    const at = @intFromPtr(address);
    if (at % std.heap.page_size_min != 0 or length_bytes < 0) return -@as(i64, @intFromEnum(c.E.INVAL));
    while (true) {
        const rc = c.madvise(page(@intCast(at)), @intCast(length_bytes), @intCast(advice));
        if (rc == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return result(rc);
    }
}

/// Reads up to `length_bytes` at `offset` into `buffer`; returns the count read.
export fn mfa_pread(fd: i32, buffer: [*]u8, length_bytes: i64, offset: i64) i64 {
    while (true) {
        const n = c.pread(fd, buffer, @intCast(length_bytes), offset);
        if (n == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return if (n == -1) failed() else n;
    }
}

/// Writes `length_bytes` from `buffer` at `offset`; returns the count written.
export fn mfa_pwrite(fd: i32, buffer: [*]const u8, length_bytes: i64, offset: i64) i64 {
    while (true) {
        const n = c.pwrite(fd, buffer, @intCast(length_bytes), offset);
        if (n == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return if (n == -1) failed() else n;
    }
}

// struct statfs differs per OS; only the fields read below are named.
const linux_statfs = extern struct {
    f_type: c_long,
    rest: [32]u64,
};
const darwin_statfs = extern struct {
    f_bsize: u32,
    f_iosize: i32,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    f_files: u64,
    f_ffree: u64,
    f_fsid: [2]i32,
    f_owner: u32,
    f_type: u32,
    f_flags: u32,
    f_fssubtype: u32,
    f_fstypename: [16]u8,
    f_mntonname: [1024]u8,
    f_mntfromname: [1024]u8,
    f_flags_ext: u32,
    f_reserved: [7]u32,
};
const statfs_buffer = if (is_darwin) darwin_statfs else linux_statfs;
// 64-bit-inode statfs is the plain symbol except on x86_64 macOS.
const fstatfs_symbol = if (is_darwin and builtin.cpu.arch == .x86_64) "fstatfs$INODE64" else "fstatfs";
const fstatfs = @extern(*const fn (c.fd_t, *statfs_buffer) callconv(.c) c_int, .{ .name = fstatfs_symbol });

/// Identifies the file system that holds `fd`. Linux: returns f_type (the magic
/// number) and leaves `name` untouched. macOS: copies f_fstypename ("apfs",
/// "nfs", "smbfs", "macfuse", ...) NUL-terminated into `name` and returns 0.
export fn mfa_fstatfs(fd: i32, name: [*]u8, name_capacity: i64) i64 {
    var buffer: statfs_buffer = undefined;
    if (fstatfs(fd, &buffer) == -1) return failed();
    if (is_darwin) {
        const type_name = std.mem.sliceTo(&buffer.f_fstypename, 0);
        const capacity: usize = @intCast(name_capacity);
        if (capacity == 0) return 0;
        const n = @min(type_name.len, capacity - 1);
        @memcpy(name[0..n], type_name[0..n]);
        name[n] = 0;
        return 0;
    }
    return @as(i64, buffer.f_type) & 0xffff_ffff;
}

// FIEMAP (linux/fiemap.h): the file's extents, from the file system's extent map.
const fiemap_extent = extern struct {
    logical: u64,
    physical: u64,
    length: u64,
    reserved64: [2]u64,
    flags: u32,
    reserved: [3]u32,
};
const fiemap_extents_per_call = 16;
const fiemap_request = extern struct {
    start: u64,
    length: u64,
    flags: u32,
    mapped_extents: u32,
    extent_count: u32,
    reserved: u32,
    extents: [fiemap_extents_per_call]fiemap_extent,
};
const FS_IOC_FIEMAP: u32 = 0xC020_660B; // _IOWR('f', 11, struct fiemap)
const FIEMAP_EXTENT_LAST: u32 = 0x1;
/// Extents whose blocks are not (or not only) the file's own reserved blocks:
/// location unknown, delayed allocation (no blocks yet), encoded, not aligned,
/// inline in the inode, packed in a tail.
const fiemap_not_reserved: u32 = 0x2 | 0x4 | 0x8 | 0x100 | 0x200 | 0x400;

/// The end of the run of extents with blocks of their own (written or unwritten:
/// both are reserved) that starts at offset 0 with no gap, as far as one FIEMAP
/// call of up to 16 extents over [0, end_offset) shows it: 0 when the file starts
/// with a hole. A shorter answer than asked is no proof of a hole (the extents may
/// simply not fit); the caller then asks lseek(SEEK_HOLE). Unlike SEEK_HOLE, which
/// on ext4 walks the page cache through unwritten extents (~20 us per 2 MiB just
/// written), this reads only the extent map. Linux only; elsewhere -EOPNOTSUPP.
export fn mfa_reserved_prefix(fd: i32, end_offset: i64) i64 {
    if (comptime !is_linux) return -@as(i64, @intFromEnum(c.E.OPNOTSUPP));
    if (end_offset <= 0) return 0;
    var request = std.mem.zeroes(fiemap_request);
    request.length = @intCast(end_offset);
    request.extent_count = fiemap_extents_per_call;
    const rc: isize = @bitCast(std.os.linux.ioctl(fd, FS_IOC_FIEMAP, @intFromPtr(&request)));
    if (rc < 0) return rc;
    var covered: u64 = 0;
    for (request.extents[0..@min(request.mapped_extents, fiemap_extents_per_call)]) |extent| {
        if (extent.logical > covered or extent.flags & fiemap_not_reserved != 0) break;
        covered = @max(covered, extent.logical + extent.length);
        if (extent.flags & FIEMAP_EXTENT_LAST != 0) break;
    }
    return @intCast(@min(covered, std.math.maxInt(i64)));
}

/// The bytes an unprivileged writer can still take on the file system holding
/// `fd` (statfs f_bavail * f_bsize), so that a reservation that cannot fit is
/// refused before fallocate takes part of it (ext4 keeps what a failed one took).
export fn mfa_free_bytes(fd: i32) i64 {
    var buffer: statfs_buffer = undefined;
    if (fstatfs(fd, &buffer) == -1) return failed();
    const block: u64 = if (is_darwin) buffer.f_bsize else buffer.rest[0];
    const available: u64 = if (is_darwin) buffer.f_bavail else buffer.rest[3];
    const bytes = std.math.mul(u64, block, available) catch std.math.maxInt(i64);
    return @intCast(@min(bytes, std.math.maxInt(i64)));
}

/// Files are sparse already on every POSIX file system that has holes: nothing to do.
/// (Windows needs FSCTL_SET_SPARSE; the function exists here so that every platform
/// has one symbol table.)
export fn mfa_set_sparse(fd: i32) i64 {
    _ = fd;
    return 0;
}

/// fsync(2). (mfa_msync already waits on POSIX; Windows needs this after a flush.)
export fn mfa_fsync(fd: i32) i64 {
    while (true) {
        const rc = c.fsync(fd);
        if (rc == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return result(rc);
    }
}

// Open-file-description byte-range locks (Linux 3.15+): like flock, they belong
// to the open file description, not the process, so two arenas in one process
// are two lockers; unlike flock, they are a separate lock space on Linux, so a
// lock here never meets LLVM's flock locks on the same file. macOS has no public
// OFD locks: there the call reports EOPNOTSUPP and the caller does without.
const linux_flock = extern struct {
    l_type: c_short,
    l_whence: c_short,
    l_start: i64,
    l_len: i64,
    l_pid: c_int,
};
const F_OFD_GETLK = 36;
const F_OFD_SETLK = 37;
const F_OFD_SETLKW = 38;
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;

pub const range_lock_unlock: i32 = 0;
pub const range_lock_shared: i32 = 1;
pub const range_lock_exclusive: i32 = 2;
pub const range_lock_nonblocking: i32 = 4;
pub const range_lock_test: i32 = 8;

/// An OFD lock on the one byte at `offset` of `fd`'s file. `operation` is one of
/// unlock / shared / exclusive, optionally | nonblocking (then a lock held by
/// another description is -EAGAIN); or test, which takes nothing and returns 1
/// when another description holds a lock there, else 0 (F_OFD_GETLK, which also
/// works on a read-only descriptor). Retried on EINTR while waiting.
export fn mfa_range_lock(fd: i32, operation: i32, offset: i64) i64 {
    if (!is_linux) return -@as(i64, @intFromEnum(c.E.OPNOTSUPP));
    const kind = operation & 3;
    var lock: linux_flock = .{
        .l_type = if (operation & range_lock_test != 0 or kind == range_lock_exclusive) F_WRLCK else if (kind == range_lock_shared) F_RDLCK else F_UNLCK,
        .l_whence = 0,
        .l_start = offset,
        .l_len = 1,
        .l_pid = 0,
    };
    if (operation & range_lock_test != 0) {
        if (c.fcntl(fd, F_OFD_GETLK, &lock) == -1) return failed();
        return if (lock.l_type == F_UNLCK) 0 else 1;
    }
    const command: c_int = if (operation & range_lock_nonblocking != 0 or kind == range_lock_unlock) F_OFD_SETLK else F_OFD_SETLKW;
    while (true) {
        const rc = c.fcntl(fd, command, &lock);
        if (rc == -1 and c._errno().* == @intFromEnum(c.E.INTR)) continue;
        return result(rc);
    }
}
