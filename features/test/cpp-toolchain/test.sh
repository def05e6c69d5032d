#!/bin/sh
# cpp-toolchain: the tools are there and compile a C++ program.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "gcc" gcc --version
check "g++" g++ --version
check "make" make --version
check "ninja" ninja --version
check "ccache" ccache --version
check "pkg-config" pkg-config --version
check "CCACHE_DIR is writable" test -w "${CCACHE_DIR:?}"
dir="$(mktemp -d)"
printf '#include <iostream>\nint main() { std::cout << "hello from c++" << std::endl; }\n' > "$dir/hello.cpp"
check "compiles and runs C++" sh -c "g++ -O2 -o '$dir/hello' '$dir/hello.cpp' && '$dir/hello' | grep -q 'hello from c++'"
rm -rf "$dir"
echo "cpp-toolchain: all checks passed"
