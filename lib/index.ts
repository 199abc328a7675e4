export { MappedFileRegionArena, type ArenaOptions } from "./arena.ts";
export { ArenaError, type ArenaErrorCode, type ArenaErrorDetails } from "./errors.ts";
