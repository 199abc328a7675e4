#!/usr/bin/env bash
# Lets this Linux x86-64 machine run Linux arm64 programs, and the programs they
# start, for `npm run test:arm64` (scripts/test-on-bun.ts): Debian's qemu-user
# (qemu-user-static), the arm64 C library (libc6-arm64-cross, found through
# QEMU_LD_PREFIX), and qemu registered with binfmt_misc so that an emulated
# process can exec another arm64 binary. Needs root; does nothing already done.
set -euo pipefail

if ! command -v qemu-aarch64-static >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static libc6-arm64-cross >/dev/null
fi

binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  # Debian's own entry (/usr/share/binfmts/qemu-aarch64, which binfmt-support would
  # import): the ELF header of an aarch64 executable. F opens the interpreter now,
  # so it runs in any mount namespace; P passes argv[0] through. The kernel
  # decodes the \x escapes itself.
  magic='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
  mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
  printf '%s' ":qemu-aarch64:M::${magic}:${mask}:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:FP" > "$binfmt/register"
fi
grep -q '^enabled' "$binfmt/qemu-aarch64"
echo "arm64 emulation: $(qemu-aarch64-static --version | head -1), binfmt_misc entry qemu-aarch64 enabled"
