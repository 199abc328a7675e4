export { MappedFileRegionArena, type ArenaOptions } from "./arena/arena.ts";
export { BlockAllocator } from "./arena/block-allocator.ts";
export { ArenaError, type ArenaErrorCode, type ArenaErrorDetails } from "./common/errors.ts";
export { RecordLog, type RecordLogOptions, type FollowOptions, type LogRecord, type LogStats, type CountAndBytes } from "./log/record-log.ts";
