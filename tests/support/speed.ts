/**
 * How many times slower than a native run this one is expected to be: 1, or what
 * MAPPED_FILE_ARENA_TEST_SLOWDOWN says. scripts/test-on-bun.ts sets it for arm64
 * under emulation, where Bun runs 5-20 times slower. Tests that do a fixed amount
 * of work in a time limit scale the limit up, or the work down, by it; nothing
 * they assert depends on it.
 */
const setting = Number(process.env.MAPPED_FILE_ARENA_TEST_SLOWDOWN ?? "1");
export const slowdown = Number.isFinite(setting) && setting >= 1 ? setting : 1;
