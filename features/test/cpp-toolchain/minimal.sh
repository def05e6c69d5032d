#!/bin/sh
# Scenario minimal: no debugger, no clang; the compilers still work.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "no gdb" sh -c '! command -v gdb'
check "no clang" sh -c '! command -v clang'
check "gcc" gcc --version
check "ninja" ninja --version
dir="$(mktemp -d)"
printf '#include <stdio.h>\nint main(void) { puts("hello from c"); return 0; }\n' > "$dir/hello.c"
check "compiles and runs C" sh -c "gcc -o '$dir/hello' '$dir/hello.c' && '$dir/hello' | grep -q 'hello from c'"
rm -rf "$dir"
echo "cpp-toolchain (minimal): all checks passed"
