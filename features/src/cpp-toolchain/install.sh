#!/bin/sh
# cpp-toolchain: compilers and build tools from the distribution.
# Idempotent: packages already installed are not fetched again.
set -eu

CLANG="${CLANG:-false}"
DEBUGGER="${DEBUGGER:-true}"
EXTRAPACKAGES="${EXTRAPACKAGES:-}"

# /etc/os-release is read in a subshell: its VERSION would clobber options.
os="$(. /etc/os-release 2>/dev/null; echo "${ID:-unknown} ${ID_LIKE:-}|${PRETTY_NAME:-unknown}")"
case " ${os%%|*} " in
  *" debian "*|*" ubuntu "*) ;;
  *) echo "(!) cpp-toolchain supports Debian and Ubuntu only; this image is ${os#*|}." >&2; exit 1 ;;
esac

apt_install() {
  missing=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  if [ -z "$missing" ]; then
    echo "cpp-toolchain: already installed: $*"
    return 0
  fi
  apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
}

packages="build-essential ninja-build ccache pkg-config"
[ "$DEBUGGER" = "true" ] && packages="$packages gdb"
[ "$CLANG" = "true" ] && packages="$packages clang lld clang-format clang-tidy"
packages="$packages $(echo "$EXTRAPACKAGES" | tr ',' ' ')"

# shellcheck disable=SC2086
apt_install $packages
mkdir -p /var/cache/ccache
chmod 1777 /var/cache/ccache
rm -rf /var/lib/apt/lists/*
gcc --version | head -n 1
