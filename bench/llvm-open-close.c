/*
 * The floor for `create` + `close`: the system calls LLVM's MappedFileRegionArena
 * makes to open and close an arena (MappedFileRegionArena::create and destroyImpl,
 * llvm/lib/CAS/MappedFileRegionArena.cpp), in C, with nothing else: no argument
 * checks, no file-system check, no pre-validation. bench/open-close.ts compiles it
 * with the system's C compiler at bench time and runs it beside the Bun arena.
 *
 *   llvm-open-close PATH CAPACITY OPS CLOCK
 *
 * Opens and closes the arena at PATH (header at offset 0) OPS times, after a few
 * untimed warm-up cycles, and prints the nanoseconds the OPS cycles took: elapsed
 * (CLOCK "wall") or this process's CPU time, user and system ("cpu").
 *
 * Open: PATH.shared opened and locked shared (held until close); PATH opened and
 * locked shared; fstat; if shorter than the capacity, relocked exclusive and
 * fstat again; the header read with pread; grown with ftruncate if short; mapped
 * whole; bumpPtr initialized with a compare-and-swap; fstat again if exclusive;
 * PATH unlocked. Close: PATH.shared unlocked and tried exclusive; if that
 * succeeds (the last user), msync, munmap, ftruncate to bumpPtr, unlock; else
 * munmap; both descriptors closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct arena {
  int fd;
  int shared_fd;
  unsigned char *base;
  uint64_t capacity;
  struct header *h;
};

static void fail(const char *what) {
  fprintf(stderr, "llvm-open-close: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void lock(int fd, int operation) {
  int rc;
  do rc = flock(fd, operation); while (rc == -1 && errno == EINTR);
  if (rc == -1) fail("flock");
}

static void open_arena(struct arena *a, const char *path, const char *shared_path, uint64_t capacity) {
  a->shared_fd = open(shared_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (a->shared_fd == -1) fail("open PATH.shared");
  lock(a->shared_fd, LOCK_SH);
  a->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (a->fd == -1) fail("open PATH");
  lock(a->fd, LOCK_SH);
  int exclusive = 0;
  struct stat st;
  if (fstat(a->fd, &st) == -1) fail("fstat");
  if ((uint64_t)st.st_size < capacity) {
    lock(a->fd, LOCK_UN);
    lock(a->fd, LOCK_EX);
    exclusive = 1;
    if (fstat(a->fd, &st) == -1) fail("fstat");
  }
  uint64_t size = (uint64_t)st.st_size;
  if (size >= sizeof(struct header)) {
    struct header stored;
    if (pread(a->fd, &stored, sizeof stored, 0) != (ssize_t)sizeof stored) fail("pread");
    if (stored.header_offset != 0 || stored.capacity < sizeof(struct header)) {
      fprintf(stderr, "llvm-open-close: %s is not an arena with its header at 0\n", path);
      exit(1);
    }
    capacity = stored.capacity;
  }
  if (size < capacity) {
    if (!exclusive) {
      lock(a->fd, LOCK_UN);
      lock(a->fd, LOCK_EX);
      exclusive = 1;
    }
    if (ftruncate(a->fd, (off_t)capacity) == -1) fail("ftruncate");
  }
  a->base = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
  if (a->base == MAP_FAILED) fail("mmap");
  a->capacity = capacity;
  a->h = (struct header *)a->base;
  uint64_t zero = 0;
  __atomic_compare_exchange_n(&a->h->bump_ptr, &zero, sizeof(struct header), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  if (size < sizeof(struct header)) {
    __atomic_store_n(&a->h->header_offset, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&a->h->capacity, capacity, __ATOMIC_SEQ_CST);
  }
  if (exclusive) {
    if (fstat(a->fd, &st) == -1) fail("fstat");
    __atomic_store_n(&a->h->allocated_size, (uint64_t)st.st_blocks * 512, __ATOMIC_SEQ_CST);
  }
  lock(a->fd, LOCK_UN);
}

static void close_arena(struct arena *a) {
  lock(a->shared_fd, LOCK_UN);
  if (flock(a->shared_fd, LOCK_EX | LOCK_NB) == 0) {
    uint64_t used = __atomic_load_n(&a->h->bump_ptr, __ATOMIC_SEQ_CST);
    if (used > a->capacity) used = a->capacity;
    msync(a->base, a->capacity, MS_SYNC);
    munmap(a->base, a->capacity);
    if (ftruncate(a->fd, (off_t)used) == -1) fail("ftruncate");
    lock(a->shared_fd, LOCK_UN);
  } else {
    munmap(a->base, a->capacity);
  }
  close(a->fd);
  close(a->shared_fd);
}

static uint64_t now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 5 || (strcmp(argv[4], "wall") != 0 && strcmp(argv[4], "cpu") != 0)) {
    fprintf(stderr, "usage: llvm-open-close PATH CAPACITY OPS wall|cpu\n");
    return 2;
  }
  clockid_t clock = strcmp(argv[4], "cpu") == 0 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
  const char *path = argv[1];
  uint64_t capacity = strtoull(argv[2], NULL, 10);
  long ops = strtol(argv[3], NULL, 10);
  char shared_path[4096];
  snprintf(shared_path, sizeof shared_path, "%s.shared", path);
  struct arena a;
  for (int i = 0; i < 20; i++) {
    open_arena(&a, path, shared_path, capacity);
    close_arena(&a);
  }
  uint64_t start = now_ns(clock);
  for (long i = 0; i < ops; i++) {
    open_arena(&a, path, shared_path, capacity);
    close_arena(&a);
  }
  printf("%llu\n", (unsigned long long)(now_ns(clock) - start));
  return 0;
}
