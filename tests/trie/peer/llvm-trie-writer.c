/*
 * An independent writer of LLVM's OnDiskTrieRawHashMap files, for the format test:
 * it builds a DatabaseFile image in memory the way LLVM's create() and insertLazy()
 * do (single-threaded, so every compare-and-swap succeeds), from a description of
 * LLVM main's code (docs/DESIGN.md, the trie), not from our TypeScript. The same
 * inserts through the library must give the same bytes.
 *
 *   llvm-trie-writer OUT NAME HASH_BITS DATA_BYTES ROOT_BITS SUBTRIE_BITS CAPACITY < hashes
 *
 * stdin: the hashes, HASH_BITS / 8 bytes each, inserted in order; record i's data
 * is i as a little-endian u64, truncated or zero-padded to DATA_BYTES.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *image;
static uint64_t bump, capacity;

static void put(uint64_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) image[at + i] = (uint8_t)(value >> (8 * i));
}
static int64_t get64(uint64_t at) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; i--) value = (value << 8) | image[at + i];
  return (int64_t)value;
}
/* MappedFileRegionArena::allocate: 8-aligned bump allocation. */
static uint64_t allocate(uint64_t size) {
  uint64_t at = bump;
  bump += (size + 7) & ~(uint64_t)7;
  if (bump > capacity) { fprintf(stderr, "full\n"); exit(1); }
  return at;
}
/* TrieHashIndexGenerator::getIndex: bits [start, start + bits) of the hash, most
 * significant first; when the hash ends first, the bits that are left, unshifted. */
static unsigned index_of(const uint8_t *hash, unsigned hash_bytes, unsigned start, unsigned bits) {
  unsigned index = 0;
  for (unsigned bit = start; bit < start + bits && bit < hash_bytes * 8; bit++)
    index = (index << 1) | ((hash[bit / 8] >> (7 - bit % 8)) & 1);
  return index;
}
static uint64_t new_subtrie(unsigned start_bit, unsigned bits) {
  uint64_t at = allocate(8 + (8ull << bits));
  put(at, start_bit, 2);
  put(at + 2, bits, 1);
  return at;
}

int main(int argc, char **argv) {
  if (argc != 8) { fprintf(stderr, "usage: OUT NAME HASH_BITS DATA_BYTES ROOT_BITS SUBTRIE_BITS CAPACITY\n"); return 2; }
  const char *name = argv[2];
  unsigned hash_bits = atoi(argv[3]), data_bytes = atoi(argv[4]), root_bits = atoi(argv[5]), subtrie_bits = atoi(argv[6]);
  unsigned hash_bytes = hash_bits / 8;
  capacity = strtoull(argv[7], 0, 10);
  image = calloc(capacity, 1);

  /* DatabaseFile::create: its header, then the arena header at 16. */
  put(0, 0xDA7ABA53u, 4);
  put(4, 1, 4);
  bump = 16 + 32;
  /* TrieRawHashMapHandle::create: the table, then the root. */
  size_t name_size = strlen(name);
  uint64_t table = allocate(32 + name_size + 1);
  put(table, 1, 2);
  put(table + 2, name_size, 2);
  put(table + 4, 32, 4);
  put(table + 8, subtrie_bits, 1);
  put(table + 10, hash_bits, 2);
  put(table + 12, data_bytes, 4);
  memcpy(image + table + 32, name, name_size);
  uint64_t root = new_subtrie(0, root_bits);
  put(table + 16, root, 8);
  put(8, table, 8); /* addTable */

  uint8_t hash[8192];
  for (uint64_t count = 0; fread(hash, 1, hash_bytes, stdin) == hash_bytes; count++) {
    /* insertLazy */
    uint64_t subtrie = root;
    unsigned start = 0, bits = root_bits;
    unsigned index = index_of(hash, hash_bytes, 0, root_bits);
    for (;;) {
      uint64_t slot = subtrie + 8 + 8ull * index;
      int64_t value = get64(slot);
      if (value == 0) {
        uint64_t record = allocate(data_bytes + hash_bytes);
        for (unsigned i = 0; i < data_bytes && i < 8; i++) image[record + i] = (uint8_t)(count >> (8 * i));
        memcpy(image + record + data_bytes, hash, hash_bytes);
        put(slot, record, 8);
        break;
      }
      if (value < 0) {
        subtrie = (uint64_t)-value;
        start += bits;
        bits = image[subtrie + 2];
        index = index_of(hash, hash_bytes, start, subtrie_bits);
        continue;
      }
      const uint8_t *existing = image + value + data_bytes;
      if (memcmp(existing, hash, hash_bytes) == 0) break;
      /* sink: one new child per level until the two hashes part */
      for (;;) {
        unsigned child_start = start + bits;
        unsigned left = hash_bits - child_start;
        unsigned child_bits = left < subtrie_bits ? left : subtrie_bits;
        unsigned ours = index_of(hash, hash_bytes, child_start, subtrie_bits);
        unsigned theirs = index_of(existing, hash_bytes, child_start, subtrie_bits);
        uint64_t child = new_subtrie(child_start, child_bits);
        put(child + 8 + 8ull * theirs, (uint64_t)value, 8);
        put(subtrie + 8 + 8ull * index, (uint64_t)-(int64_t)child, 8);
        subtrie = child;
        start = child_start;
        bits = child_bits;
        index = ours;
        if (ours != theirs) break;
      }
    }
  }
  /* The arena header as a last close leaves it (allocatedSize: ours says bump). */
  put(16, bump, 8);
  put(24, bump, 8);
  put(32, capacity, 8);
  put(40, 16, 8);
  FILE *out = fopen(argv[1], "wb");
  if (!out || fwrite(image, 1, bump, out) != bump || fclose(out) != 0) { perror(argv[1]); return 1; }
  return 0;
}
