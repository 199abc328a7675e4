export { MappedFileRegionArena, type ArenaOptions } from "./arena.ts";
export { BlockAllocator } from "./block-allocator.ts";
export { ArenaError, type ArenaErrorCode, type ArenaErrorDetails } from "./errors.ts";
