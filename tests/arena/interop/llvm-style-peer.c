/*
 * An arena peer in C: the file format and the flock protocol of LLVM's
 * MappedFileRegionArena, implemented independently from the specification
 * (the four header words, PATH.shared, shared -> exclusive on the main file,
 * fetch_add on bumpPtr, the last closer shrinks). tests/interop runs it beside
 * Bun processes on one file, to show that the two implementations share the
 * file, the locks and the atomics, which is what "byte-compatible" has to mean.
 *
 *   peer PATH CAPACITY HEADER_OFFSET COUNT TAG MAX_SIZE SEED MODE [PARTICIPANTS CHECKPOINT_EVERY]
 *
 * Makes COUNT allocations of 1..MAX_SIZE bytes, stamps each one as
 * tests/support/allocations.ts does, prints "offset size tag sequence" for each,
 * then "done", and closes. MODE "atomic" bumps with a 64-bit atomic fetch-add,
 * as LLVM does; MODE "racy" with a plain load and store, the broken variant the
 * interop test must catch. Exit status 0, or 1 with a message on stderr.
 *
 * With PARTICIPANTS, the file's first bytes (before a HEADER_OFFSET of at least
 * 128) hold the test rendezvous words of tests/support/barrier.ts, used as it
 * uses them: the peer counts itself in and waits for the parent's go; every
 * CHECKPOINT_EVERY allocations it waits until all PARTICIPANTS have made as many;
 * and in MODE "racy" its first bump takes a collision ticket between its load and
 * its store (the first ticket waits for a second), so the lost update is certain.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct header {
  uint64_t bump_ptr;
  uint64_t allocated_size;
  uint64_t capacity;
  uint64_t header_offset;
};

static void fail(const char *what) {
  fprintf(stderr, "peer: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int lock(int fd, int operation) {
  int rc;
  do rc = flock(fd, operation); while (rc == -1 && errno == EINTR);
  return rc;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The rendezvous words (tests/support/barrier.ts), 64-bit from offset 0. */
enum { ARRIVED_WORD = 0, GO_WORD = 1, CHECKPOINT_WORD = 2, COLLISION_WORD = 3, RENDEZVOUS_BYTES = 128 };
static const uint64_t wait_limit_ms = 30000;

/* Waits until words[word] >= target, yielding the core, for at most 30 s. */
static void wait_for(uint64_t *words, int word, uint64_t target, const char *what) {
  uint64_t deadline = now_ms() + wait_limit_ms;
  while (__atomic_load_n(&words[word], __ATOMIC_SEQ_CST) < target) {
    if (now_ms() > deadline) {
      fprintf(stderr, "peer: waited 30 s for %s\n", what);
      exit(1);
    }
    sched_yield();
  }
}

static unsigned char stamp_byte(uint64_t tag, uint64_t sequence, uint64_t i) {
  return (unsigned char)((tag * 131 + sequence * 31 + i * 7 + 1) & 0xff);
}

int main(int argc, char **argv) {
  if (argc != 9 && argc != 11) {
    fprintf(stderr, "usage: peer PATH CAPACITY HEADER_OFFSET COUNT TAG MAX_SIZE SEED MODE [PARTICIPANTS CHECKPOINT_EVERY]\n");
    return 2;
  }
  const char *path = argv[1];
  uint64_t capacity = strtoull(argv[2], NULL, 10);
  uint64_t header_offset = strtoull(argv[3], NULL, 10);
  uint64_t count = strtoull(argv[4], NULL, 10);
  uint64_t tag = strtoull(argv[5], NULL, 10);
  uint64_t max_size = strtoull(argv[6], NULL, 10);
  uint64_t rng_state = strtoull(argv[7], NULL, 10);
  int racy = strcmp(argv[8], "racy") == 0;
  uint64_t participants = argc == 11 ? strtoull(argv[9], NULL, 10) : 0;
  uint64_t checkpoint_every = argc == 11 ? strtoull(argv[10], NULL, 10) : 0;
  if (participants > 0 && (header_offset < RENDEZVOUS_BYTES || checkpoint_every == 0)) {
    fprintf(stderr, "peer: PARTICIPANTS needs HEADER_OFFSET >= %d and CHECKPOINT_EVERY > 0\n", RENDEZVOUS_BYTES);
    return 2;
  }
  uint64_t header_end = header_offset + sizeof(struct header);

  /* Open: a shared lock on PATH.shared for the whole session. */
  char shared_path[4096];
  snprintf(shared_path, sizeof shared_path, "%s.shared", path);
  int shared_fd = open(shared_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (shared_fd == -1 || lock(shared_fd, LOCK_SH) == -1) fail("PATH.shared");

  /* The main file: shared to look, exclusive to create or resize. */
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd == -1 || lock(fd, LOCK_SH) == -1) fail("PATH");
  int exclusive = 0;
  struct stat st;
  if (fstat(fd, &st) == -1) fail("fstat");
  if ((uint64_t)st.st_size < capacity) {
    if (lock(fd, LOCK_UN) == -1 || lock(fd, LOCK_EX) == -1) fail("flock");
    exclusive = 1;
    if (fstat(fd, &st) == -1) fail("fstat");
  }
  uint64_t size = (uint64_t)st.st_size;
  if (size >= header_end) {
    struct header stored;
    if (pread(fd, &stored, sizeof stored, (off_t)header_offset) != (ssize_t)sizeof stored) fail("pread");
    if (stored.header_offset != header_offset || stored.capacity < header_end) {
      fprintf(stderr, "peer: not an arena with its header at %llu\n", (unsigned long long)header_offset);
      return 1;
    }
    capacity = stored.capacity; /* the stored capacity wins */
  }
  if (size < capacity) {
    if (!exclusive && (lock(fd, LOCK_UN) == -1 || lock(fd, LOCK_EX) == -1)) fail("flock");
    exclusive = 1;
    if (ftruncate(fd, (off_t)capacity) == -1) fail("ftruncate");
  }
  unsigned char *base = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) fail("mmap");
  struct header *h = (struct header *)(base + header_offset);
  uint64_t zero = 0;
  __atomic_compare_exchange_n(&h->bump_ptr, &zero, header_end, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  if (size < header_end) {
    __atomic_store_n(&h->header_offset, header_offset, __ATOMIC_SEQ_CST);
    __atomic_store_n(&h->capacity, capacity, __ATOMIC_SEQ_CST);
  }
  if (exclusive) {
    if (fstat(fd, &st) == -1) fail("fstat");
    __atomic_store_n(&h->allocated_size, (uint64_t)st.st_blocks * 512, __ATOMIC_SEQ_CST);
  }
  if (lock(fd, LOCK_UN) == -1) fail("flock");

  uint64_t *words = (uint64_t *)base;
  if (participants > 0) {
    __atomic_fetch_add(&words[ARRIVED_WORD], 1, __ATOMIC_SEQ_CST);
    wait_for(words, GO_WORD, 1, "the parent's go");
  }

  /* Allocate and stamp. */
  for (uint64_t sequence = 0; sequence < count; sequence++) {
    if (participants > 0 && sequence > 0 && sequence % checkpoint_every == 0) {
      __atomic_fetch_add(&words[CHECKPOINT_WORD], 1, __ATOMIC_SEQ_CST);
      wait_for(words, CHECKPOINT_WORD, sequence / checkpoint_every * participants, "a checkpoint");
    }
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t bytes = 1 + (rng_state >> 33) % max_size;
    uint64_t rounded = (bytes + 7) & ~(uint64_t)7;
    uint64_t old_end;
    if (racy) {
      old_end = *(volatile uint64_t *)&h->bump_ptr;
      if (participants > 0 && sequence == 0 && __atomic_fetch_add(&words[COLLISION_WORD], 1, __ATOMIC_SEQ_CST) == 0) {
        wait_for(words, COLLISION_WORD, 2, "a second racer to load before the first stores");
      }
      *(volatile uint64_t *)&h->bump_ptr = old_end + rounded;
    } else {
      old_end = __atomic_fetch_add(&h->bump_ptr, rounded, __ATOMIC_SEQ_CST);
    }
    uint64_t new_end = old_end + rounded;
    if (new_end > capacity) {
      if (old_end <= capacity) __atomic_exchange_n(&h->bump_ptr, old_end, __ATOMIC_SEQ_CST);
      fprintf(stderr, "peer: arena full\n");
      return 1;
    }
    uint64_t reserved = __atomic_load_n(&h->allocated_size, __ATOMIC_SEQ_CST);
    if (new_end > reserved) {
      uint64_t target = new_end + (1u << 20);
      if (target > capacity) target = capacity;
      int rc = posix_fallocate(fd, (off_t)reserved, (off_t)(target - reserved));
      if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
        errno = rc;
        fail("posix_fallocate");
      }
      while (reserved < target &&
             !__atomic_compare_exchange_n(&h->allocated_size, &reserved, target, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      }
    }
    for (uint64_t i = 0; i < bytes; i++) base[old_end + i] = stamp_byte(tag, sequence, i);
    printf("%llu %llu %llu %llu\n", (unsigned long long)old_end, (unsigned long long)bytes,
           (unsigned long long)tag, (unsigned long long)sequence);
  }
  printf("done\n");
  fflush(stdout);

  /* Close: the last one out (exclusive on PATH.shared) shrinks the file to bumpPtr. */
  if (lock(shared_fd, LOCK_UN) == -1) fail("flock");
  if (lock(shared_fd, LOCK_EX | LOCK_NB) == 0) {
    uint64_t used = __atomic_load_n(&h->bump_ptr, __ATOMIC_SEQ_CST);
    if (used > capacity) used = capacity;
    msync(base, capacity, MS_SYNC);
    munmap(base, capacity);
    if (ftruncate(fd, (off_t)used) == -1) fail("ftruncate");
    lock(shared_fd, LOCK_UN);
  } else {
    munmap(base, capacity);
  }
  close(fd);
  close(shared_fd);
  return 0;
}
