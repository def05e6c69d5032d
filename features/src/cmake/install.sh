#!/bin/sh
# cmake: the distribution's CMake, or an exact release from the official
# archive (checksum verified against the release's SHA-256 list).
# Idempotent: an installed release or package is kept.
set -eu

VERSION="${VERSION:-os-provided}"
DOWNLOADURL="${DOWNLOADURL:-https://github.com/Kitware/CMake/releases/download}"

fail() { echo "(!) cmake: $*" >&2; exit 1; }

# /etc/os-release is read in a subshell: its VERSION would clobber options.
os="$(. /etc/os-release 2>/dev/null; echo "${ID:-unknown} ${ID_LIKE:-}|${PRETTY_NAME:-unknown}")"
case " ${os%%|*} " in
  *" debian "*|*" ubuntu "*) ;;
  *) fail "supports Debian and Ubuntu only; this image is ${os#*|}." ;;
esac

apt_install() {
  missing=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  [ -n "$missing" ] || return 0
  apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
}

if [ "$VERSION" = "os-provided" ] || [ "$VERSION" = "latest" ]; then
  apt_install cmake make
  rm -rf /var/lib/apt/lists/*
  cmake --version | head -n 1
  exit 0
fi

case "$VERSION" in
  [0-9]*.[0-9]*.[0-9]*) ;;
  *) fail "version must be os-provided or an exact release like 3.28.6, not '$VERSION'." ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x86_64 ;;
  aarch64|arm64) arch=aarch64 ;;
  *) fail "no official CMake release for $(uname -m); use version os-provided." ;;
esac

prefix="/opt/cmake-$VERSION"
if [ -x "$prefix/bin/cmake" ]; then
  echo "cmake: $VERSION is already installed in $prefix"
else
  apt_install curl ca-certificates make
  archive="cmake-$VERSION-linux-$arch.tar.gz"
  base="${DOWNLOADURL%/}/v$VERSION"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "cmake: downloading $base/$archive"
  curl -fsSL --retry 2 --connect-timeout 15 -o "$tmp/SHA-256.txt" "$base/cmake-$VERSION-SHA-256.txt" \
    || fail "cannot download $base/cmake-$VERSION-SHA-256.txt: no network, a proxy in the way, or no such release. Use version os-provided offline, or set downloadUrl to a reachable mirror."
  curl -fsSL --retry 2 --connect-timeout 15 -o "$tmp/$archive" "$base/$archive" \
    || fail "cannot download $base/$archive (see above); use version os-provided offline, or set downloadUrl to a reachable mirror."
  expected="$(grep " $archive\$" "$tmp/SHA-256.txt" | cut -d' ' -f1)"
  [ -n "$expected" ] || fail "$archive is not listed in cmake-$VERSION-SHA-256.txt."
  echo "$expected  $tmp/$archive" | sha256sum -c - >/dev/null \
    || fail "checksum mismatch for $archive: expected $expected, got $(sha256sum "$tmp/$archive" | cut -d' ' -f1)."
  mkdir -p "$prefix"
  tar -xzf "$tmp/$archive" -C "$prefix" --strip-components=1
fi
for tool in cmake ctest cpack ccmake; do
  [ -e "$prefix/bin/$tool" ] && ln -sf "$prefix/bin/$tool" "/usr/local/bin/$tool"
done
rm -rf /var/lib/apt/lists/*
cmake --version | head -n 1
