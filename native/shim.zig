//! The native shim: the system calls that Bun cannot make by itself, behind one C ABI.
//!
//! Every function is one system call (or one retry loop around it) and returns a
//! non-negative result or a negative error number: -errno on Linux and macOS
//! (posix.zig), -GetLastError() on Windows (windows.zig). There is no policy here:
//! when to lock, what to validate, how far to reserve disk and when to shrink are
//! all decided in TypeScript (lib/), where the whole protocol can be read in one
//! place; lib/native/native.ts turns the error numbers into names.
//!
//! Values cross the boundary as i64 so that bun:ffi can use one convention for all
//! of them: offsets and sizes up to 2^63, addresses (below 2^48 on every supported
//! platform, so they survive as JavaScript numbers) and negative error numbers.
//! A file is an i32 on every platform: a descriptor, or on Windows a HANDLE, whose
//! upper 32 bits Windows guarantees are a sign extension of the lower ones (so
//! that 32- and 64-bit processes can share handles).

const builtin = @import("builtin");

/// mfa_open's options, on every platform.
pub const open_create: i32 = 1;
pub const open_read_only: i32 = 2;

comptime {
    // Addresses and offsets are passed as i64; the shim is for 64-bit targets only.
    if (@sizeOf(usize) != 8) @compileError("mapped-file-arena needs a 64-bit target");
    switch (builtin.os.tag) {
        .windows => _ = @import("windows.zig"),
        .linux, .macos => _ = @import("posix.zig"),
        else => @compileError("mapped-file-arena supports Linux, macOS and Windows"),
    }
}
