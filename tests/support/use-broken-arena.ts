// Preloaded (bun --preload) into a child process by runIsolatedChild's
// brokenVariant option: turns on the broken arena variant named in
// MFA_TEST_BROKEN_ARENA before the child's own code runs.
import { useBrokenArenaForTests } from "../../lib/arena/arena-testing.ts";
import type { BrokenArenaVariant } from "../../lib/arena/broken-variants.ts";

useBrokenArenaForTests((process.env.MFA_TEST_BROKEN_ARENA as BrokenArenaVariant | undefined) ?? null);
