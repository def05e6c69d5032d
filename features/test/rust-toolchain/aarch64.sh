#!/bin/sh
# Scenario aarch64 (with cross-toolchain): cargo cross-compiles and runs
# the program under qemu through the runner variable.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
dir="$(mktemp -d)"
(cd "$dir" && cargo new --quiet --vcs none hello)
check "cross-compiles and runs under qemu" sh -c "cd '$dir/hello' && cargo run --quiet --target aarch64-unknown-linux-gnu | grep -q 'Hello, world!'"
check "an aarch64 ELF" sh -c "file '$dir/hello/target/aarch64-unknown-linux-gnu/debug/hello' | grep -q 'ARM aarch64'"
rm -rf "$dir"
echo "rust-toolchain (aarch64): all checks passed"
