/*
 * The floor for the trie's find: the same walk over the same file in C, compiled
 * with gcc -O2 when the benchmark runs and called through bun:ffi (bench/trie-floor.ts).
 *
 * A lookup in an LLVM OnDiskTrieRawHashMap is a chain of dependent reads: the
 * root subtrie's slot for the hash's first bits, then a child subtrie's slot, and
 * so on until a slot holds a record, whose hash is compared once. Each read
 * depends on the one before, so the cost is mostly cache and TLB misses: the
 * floor is what the memory system allows, and this program pays only that: slot
 * loads, the index arithmetic and one 32-byte compare, no bounds checks (it trusts
 * the file the benchmark just wrote), no allocation.
 *
 * Layout (LLVM's DatabaseFile; see docs/design/trie.md):
 *   0   u32 magic 0xDA7ABA53, u32 version, i64 root table offset
 *   table: u16 kind, u16 name size, i32 name offset, u8 subtrie bits, u8 flags,
 *          u16 hash bits, u32 record data size, i64 root subtrie offset, ...
 *   subtrie: u16 start bit, u8 bit count, 5 zero bytes, 2^bits i64 slots
 *            (0 empty, > 0 record offset, < 0 minus a child subtrie's offset)
 *   record: data, then the hash
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct walk {
  const uint8_t *base;
  size_t length;
  int64_t root;
  uint32_t data_bytes;
  uint32_t hash_bytes;
};

static struct walk opened;

static uint16_t u16_at(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t u32_at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static int64_t i64_at(const uint8_t *p) { int64_t v; memcpy(&v, p, 8); return v; }

/* Maps the trie file read-only. Returns 0, or a negative number saying what failed. */
int trie_walk_open(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0) { close(fd); return -2; }
  const uint8_t *base = mmap(0, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return -3;
  if (u32_at(base) != 0xDA7ABA53u) return -4;
  int64_t table = i64_at(base + 8);
  opened.base = base;
  opened.length = (size_t)st.st_size;
  opened.hash_bytes = u16_at(base + table + 10) / 8;
  opened.data_bytes = u32_at(base + table + 12);
  opened.root = i64_at(base + table + 16);
  return 0;
}

void trie_walk_close(void) {
  if (opened.base) munmap((void *)opened.base, opened.length);
  opened.base = 0;
}

/* Bits [start, start + bits) of the hash, most significant first (bits <= 16). */
static inline uint32_t index_at(const uint8_t *hash, uint32_t hash_bytes, uint32_t start, uint32_t bits) {
  uint32_t byte = start >> 3;
  uint32_t window = (uint32_t)hash[byte] << 16;
  if (byte + 1 < hash_bytes) window |= (uint32_t)hash[byte + 1] << 8;
  if (byte + 2 < hash_bytes) window |= hash[byte + 2];
  return (window >> (24 - (start & 7) - bits)) & ((1u << bits) - 1);
}

/* The record offset for `hash`, or -1. */
static inline int64_t find(const uint8_t *hash) {
  const uint8_t *base = opened.base;
  int64_t subtrie = opened.root;
  for (int level = 0; level < 512; level++) {
    const uint8_t *header = base + subtrie;
    uint32_t index = index_at(hash, opened.hash_bytes, u16_at(header), header[2]);
    int64_t slot = __atomic_load_n((const int64_t *)(header + 8) + index, __ATOMIC_ACQUIRE);
    if (slot == 0) return -1;
    if (slot > 0) return memcmp(base + slot + opened.data_bytes, hash, opened.hash_bytes) == 0 ? slot : -1;
    subtrie = -slot;
  }
  return -1;
}

/*
 * Looks up `count` hashes, hashes + 32 * ((first + i) % keys): the keys laid out
 * in the order they are looked up, the same order the TypeScript candidates
 * follow. Returns how many were found (the caller checks it, which also keeps the
 * work from being optimized away).
 *
 * `chained` 0: the lookups are independent, and the CPU runs ahead into the next
 * one's loads while the current one waits on a cache miss (the loop is short
 * enough for its out-of-order window): throughput. `chained` 1: each lookup's key
 * position depends on the previous result (by a term that is always 0, but the
 * compiler cannot know: offsets are below 2^31), so the misses of two lookups
 * cannot overlap: the latency of one lookup, what a caller pays that uses each
 * result before the next lookup.
 */
int64_t trie_walk_find_many(const uint8_t *hashes, int64_t keys, int64_t first, int64_t count, int64_t chained) {
  int64_t found = 0;
  int64_t cursor = first % keys;
  for (int64_t i = 0; i < count; i++) {
    int64_t offset = find(hashes + (size_t)cursor * opened.hash_bytes);
    if (offset >= 0) found++;
    if (chained) cursor += offset > 0 && (offset & 0x80000000) != 0;
    if (++cursor >= keys) cursor = 0;
  }
  return found;
}

/* This thread's CPU time in ns: the benchmark's clock on a machine where other work takes turns on the cores. */
int64_t thread_cpu_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}
