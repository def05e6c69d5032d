#!/bin/sh
# Scenario all_targets: every target gets a compiler and a toolchain file;
# each runs under its qemu with -L.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
dir="$(mktemp -d)"
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > "$dir/hello.c"
for spec in aarch64:aarch64-linux-gnu:qemu-aarch64 armhf:arm-linux-gnueabihf:qemu-arm riscv64:riscv64-linux-gnu:qemu-riscv64; do
  target="${spec%%:*}"; rest="${spec#*:}"; triplet="${rest%%:*}"; qemu="${rest#*:}"
  check "$target toolchain file" test -f "/usr/local/share/devc/cmake/$target.cmake"
  check "$target compiles" "$triplet-gcc" -o "$dir/hello-$target" "$dir/hello.c"
  check "$target runs under $qemu" sh -c "$qemu -L /usr/$triplet '$dir/hello-$target' | grep -q hello"
done
check "the first target is the default" sh -c 'readlink /usr/local/share/devc/cmake/cross.cmake | grep -q aarch64'
rm -rf "$dir"
echo "cross-toolchain (all_targets): all checks passed"
