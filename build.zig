//! Builds the native shim: libmapped_file_arena.so, libmapped_file_arena.dylib, or
//! mapped_file_arena.dll on Windows.
//!
//!   zig build                     the host's library, into zig-out/lib/
//!   zig build -Dtarget=aarch64-linux-musl
//!   zig build prebuilds --prefix prebuilds
//!                                 every supported platform, into prebuilds/<platform>/
//!
//! The Zig release is pinned in .zig-version (and build.zig.zon); any other release
//! is refused here, before its differences can turn into confusing compile errors.

const std = @import("std");
const builtin = @import("builtin");

const required_zig = std.mem.trim(u8, @embedFile(".zig-version"), " \t\r\n");

comptime {
    const running = builtin.zig_version_string;
    if (!std.mem.eql(u8, running, required_zig)) @compileError(
        "mapped-file-arena is built with Zig " ++ required_zig ++ ", but this is Zig " ++ running ++
            ". Install the pinned release with `python3 -m pip install ziglang==" ++ required_zig ++
            "` and run `python3 -m ziglang build`, or run `bun run build:native`, which finds it.",
    );
}

const library_name = "mapped_file_arena";

/// The platforms shipped in the npm package, named as lib/native/library-path.ts names them.
const prebuilt_platforms = [_]struct { dir: []const u8, query: []const u8 }{
    .{ .dir = "linux-x64-gnu", .query = "x86_64-linux-gnu" },
    .{ .dir = "linux-arm64-gnu", .query = "aarch64-linux-gnu" },
    .{ .dir = "linux-x64-musl", .query = "x86_64-linux-musl" },
    .{ .dir = "linux-arm64-musl", .query = "aarch64-linux-musl" },
    .{ .dir = "darwin-x64", .query = "x86_64-macos" },
    .{ .dir = "darwin-arm64", .query = "aarch64-macos" },
    .{ .dir = "win32-x64", .query = "x86_64-windows-gnu" },
    .{ .dir = "win32-arm64", .query = "aarch64-windows-gnu" },
};

pub fn build(b: *std.Build) !void {
    const target = b.standardTargetOptions(.{});
    // ReleaseFast unless asked otherwise: the shim is a list of system calls and has
    // nothing that Debug's safety checks would catch.
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Default: ReleaseFast") orelse .ReleaseFast;

    b.installArtifact(addShim(b, target, optimize));

    const prebuilds = b.step("prebuilds", "Build the shim for every supported platform into <prefix>/<platform>/");
    for (prebuilt_platforms) |platform| {
        const query = try std.Target.Query.parse(.{ .arch_os_abi = platform.query });
        const shim = addShim(b, b.resolveTargetQuery(query), optimize);
        const install = b.addInstallArtifact(shim, .{
            .dest_dir = .{ .override = .{ .custom = platform.dir } },
            // Windows: only the DLL; no import library or debug database to ship.
            .implib_dir = .disabled,
            .pdb_dir = .disabled,
        });
        prebuilds.dependOn(&install.step);
    }
}

fn addShim(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode) *std.Build.Step.Compile {
    return b.addLibrary(.{
        .name = library_name,
        .linkage = .dynamic,
        .root_module = b.createModule(.{
            .root_source_file = b.path("native/shim.zig"),
            .target = target,
            .optimize = optimize,
            // Windows: kernel32 only (windows.zig names it), no C runtime to ship.
            .link_libc = target.result.os.tag != .windows,
            .strip = optimize != .Debug,
        }),
    });
}
