export { MappedFileRegionArena, type ArenaOptions } from "./arena/arena.ts";
export { BlockAllocator } from "./arena/block-allocator.ts";
export { ArenaError, type ArenaErrorCode, type ArenaErrorDetails, type LibraryErrorCode, type SystemErrorCode } from "./common/errors.ts";
export {
  OnDiskTrieRawHashMap,
  type TrieOptions,
  type TrieRecord,
  type TrieLeaks,
  type TrieValidation,
  type RecordInitializer,
} from "./trie/trie-raw-hash-map.ts";
export { OnDiskDataAllocator, type DataAllocatorOptions, type DataBlock } from "./trie/data-allocator.ts";
export { ContentStore, type ContentStoreOptions, type StoredObject, type StoreStats } from "./store/content-store.ts";
export type { ReadOnlyContentStoreOptions } from "./store/content-store.ts";
export { ActionCache } from "./store/action-cache.ts";
export type { ValidationReport } from "./store/validate.ts";
export type { ValidateIfNeededOptions, ValidationOutcome } from "./store/recovery.ts";
export { RecordLog, type RecordLogOptions, type FollowOptions, type LogRecord, type RecordVisitor, type LogStats, type CountAndBytes } from "./log/record-log.ts";
export type { ReadOnlyArenaOptions } from "./arena/arena.ts";
export type { ReadOnlyRecordLogOptions, WaitForLogOptions } from "./log/record-log.ts";
export type { ReadOnlyTrieOptions } from "./trie/trie-raw-hash-map.ts";
export type { ReadOnlyDataAllocatorOptions } from "./trie/data-allocator.ts";
export type { RemoteOptions } from "./store/remote/options.ts";
export type { RemoteStats } from "./store/remote/remote-stats.ts";
export type { StoreRemote, TransferReport } from "./store/remote/store-remote.ts";
