#!/bin/sh
# cross-toolchain with its defaults (aarch64): compile C and C++ for aarch64,
# check the ELF machine, run both under qemu with QEMU_LD_PREFIX.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "aarch64 gcc" aarch64-linux-gnu-gcc --version
check "qemu-aarch64" sh -c 'qemu-aarch64 -version | grep -qi qemu'
check "toolchain file" test -f /usr/local/share/devc/cmake/aarch64.cmake
check "CMAKE_TOOLCHAIN_FILE is set and exists" test -f "${CMAKE_TOOLCHAIN_FILE:?}"
check "QEMU_LD_PREFIX has the aarch64 loader" test -e "${QEMU_LD_PREFIX:?}/lib/ld-linux-aarch64.so.1"
dir="$(mktemp -d)"
printf '#include <stdio.h>\nint main(void) { puts("hello from aarch64"); return 0; }\n' > "$dir/hello.c"
printf '#include <iostream>\nint main() { std::cout << "hello from aarch64 c++" << std::endl; }\n' > "$dir/hello.cpp"
check "cross-compiles C" aarch64-linux-gnu-gcc -o "$dir/hello" "$dir/hello.c"
check "cross-compiles C++" aarch64-linux-gnu-g++ -o "$dir/hello-cpp" "$dir/hello.cpp"
check "the result is an aarch64 ELF" sh -c "file '$dir/hello' | grep -q 'ARM aarch64'"
check "runs under qemu" sh -c "qemu-aarch64 '$dir/hello' | grep -q 'hello from aarch64'"
check "C++ runs under qemu" sh -c "qemu-aarch64 '$dir/hello-cpp' | grep -q 'hello from aarch64 c++'"
rm -rf "$dir"
echo "cross-toolchain: all checks passed"
