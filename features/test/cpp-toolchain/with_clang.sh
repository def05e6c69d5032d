#!/bin/sh
# Scenario with_clang: clang and an extra package.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "clang" clang --version
check "clang-format" clang-format --version
check "extra package libfmt-dev" test -e /usr/include/fmt/core.h
echo "cpp-toolchain (with_clang): all checks passed"
