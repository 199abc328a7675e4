//! A stand-in for Windows' bcryptprimitives.dll, which Wine 8.0 lacks: Bun for
//! Windows imports ProcessPrng from it and does not start without it. Built by
//! scripts/test-windows.ts and put next to bun.exe; never shipped. ProcessPrng fills
//! the buffer from RtlGenRandom (advapi32's SystemFunction036), which Wine has.

const windows = @import("std").os.windows;
const WINAPI = @import("std").builtin.CallingConvention.winapi;

extern "advapi32" fn SystemFunction036(buffer: [*]u8, length: u32) callconv(WINAPI) windows.BOOLEAN;

export fn ProcessPrng(data: [*]u8, length: usize) callconv(WINAPI) windows.BOOL {
    var done: usize = 0;
    while (done < length) {
        const chunk: u32 = @intCast(@min(length - done, 1 << 30));
        if (SystemFunction036(data + done, chunk) == 0) return 0;
        done += chunk;
    }
    return 1;
}
