#!/bin/sh
# rust-toolchain: rustc and cargo from the distribution; for each cross
# target, its standard library through multiarch (dpkg --add-architecture).
# Idempotent: installed packages and architectures are kept.
set -eu

CROSSTARGETS="${CROSSTARGETS:-}"

fail() { echo "(!) rust-toolchain: $*" >&2; exit 1; }

# /etc/os-release is read in a subshell: its VERSION would clobber options.
os="$(. /etc/os-release 2>/dev/null; echo "${ID:-unknown} ${ID_LIKE:-}|${PRETTY_NAME:-unknown}")"
case " ${os%%|*} " in
  *" debian "*|*" ubuntu "*) ;;
  *) fail "supports Debian and Ubuntu only; this image is ${os#*|}." ;;
esac

packages="rustc cargo"
for target in $(echo "$CROSSTARGETS" | tr ',' ' '); do
  case "$target" in
    aarch64|arm64) arch=arm64 ;;
    armhf|arm) arch=armhf ;;
    riscv64) arch=riscv64 ;;
    *) fail "unknown target '$target'; choose among aarch64, armhf, riscv64." ;;
  esac
  dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
  packages="$packages libstd-rust-dev:$arch"
done

missing=""
for pkg in $packages; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
    || fail "could not install$missing (on Ubuntu, foreign architectures come from ports.ubuntu.com: add it to the sources)."
fi
mkdir -p /usr/local/cargo
chmod 1777 /usr/local/cargo
rm -rf /var/lib/apt/lists/*
rustc --version
