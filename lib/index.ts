export { MappedFileRegionArena, type ArenaOptions } from "./arena/arena.ts";
export { BlockAllocator } from "./arena/block-allocator.ts";
export { ArenaError, type ArenaErrorCode, type ArenaErrorDetails } from "./common/errors.ts";
export {
  OnDiskTrieRawHashMap,
  type TrieOptions,
  type TrieRecord,
  type TrieLeaks,
  type TrieValidation,
  type RecordInitializer,
} from "./trie/trie-raw-hash-map.ts";
export { OnDiskDataAllocator, type DataAllocatorOptions, type DataBlock } from "./trie/data-allocator.ts";
export { RecordLog, type RecordLogOptions, type FollowOptions, type LogRecord, type LogStats, type CountAndBytes } from "./log/record-log.ts";
