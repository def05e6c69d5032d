#!/bin/sh
# rust-toolchain with its defaults: cargo builds and runs a program.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "rustc" rustc --version
check "cargo" cargo --version
dir="$(mktemp -d)"
(cd "$dir" && cargo new --quiet --vcs none hello)
check "cargo run" sh -c "cd '$dir/hello' && cargo run --quiet | grep -q 'Hello, world!'"
rm -rf "$dir"
echo "rust-toolchain: all checks passed"
