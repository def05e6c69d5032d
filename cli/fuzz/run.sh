#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 60), after seeding the
# corpora from the repository's fixtures, features and templates.
#
#   cli/fuzz/run.sh            # a minute per target (CI)
#   cli/fuzz/run.sh 3600       # an hour per target (before a release)
#   cli/fuzz/run.sh 60 jsonc   # one target
#
# Only a stable toolchain is needed: RUSTC_BOOTSTRAP lets cargo-fuzz pass
# its -Z flags. The sanitizer defaults to none (devc has no unsafe code; the
# targets look for panics, aborts, hangs and runaway memory); set
# SANITIZER=address for ASan. A crash leaves its input in
# cli/fuzz/artifacts/<target>/; turn it into a unit test beside the code.
set -euo pipefail

seconds="${1:-60}"
shift || true
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(jsonc compose metadata_label feature_options feature_order extract)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

seed() {
    local target="$1" dir="$here/corpus/$1"
    mkdir -p "$dir"
    case "$target" in
    jsonc)
        find "$repo/tests/fixtures" "$repo/templates" -name 'devcontainer.json' -o -name '.devcontainer.json' |
            while read -r f; do cp "$f" "$dir/$(echo "$f" | sha1sum | cut -c1-16)"; done ;;
    feature_options)
        find "$repo/features" "$repo/tests/fixtures" -name 'devcontainer-feature.json' |
            while read -r f; do
                { cat "$f"; printf '\0{"version": "1.2.3"}'; } >"$dir/$(echo "$f" | sha1sum | cut -c1-16)"
            done ;;
    metadata_label)
        printf '[{"remoteUser":"u","containerEnv":{"A":"1"}},{"postCreateCommand":["a","b"],"mounts":["type=volume,source=x,target=/x"]}]' >"$dir/seed1"
        printf '{"id":"f","remoteEnv":{"P":"${containerEnv:PATH}"}}' >"$dir/seed2" ;;
    compose)
        printf 'services:\n  app:\n    image: busybox\n    command: sleep infinity\n    volumes:\n      - data:/data\n    environment:\n      A: ${A:-1}\n  db:\n    image: busybox\n    depends_on: [app]\nvolumes:\n  data: {}\n' >"$dir/seed1" ;;
    feature_order)
        printf '\x05\x00\x01\x41\x02\x81\x03\x01\x00' >"$dir/seed1" ;;
    extract)
        for f in "$repo"/features/src/*/; do
            tar -czf "$dir/$(basename "$f").tgz" -C "$f" . 2>/dev/null || true
        done ;;
    esac
}

cd "$here"
sanitizer="${SANITIZER:-none}"
for target in "${targets[@]}"; do
    seed "$target"
    echo "== $target: ${seconds}s"
    cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144
done
