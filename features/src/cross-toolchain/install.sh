#!/bin/sh
# cross-toolchain: GCC cross compilers and target C libraries from the
# distribution, qemu-user, and one CMake toolchain file per target in
# /usr/local/share/devc/cmake/<target>.cmake. The first target is the
# default: cross.cmake and the sysroot link point at it, so the feature's
# containerEnv (CMAKE_TOOLCHAIN_FILE, QEMU_LD_PREFIX) needs no option.
# Idempotent: installed packages are kept, files are rewritten.
set -eu

TARGETS="${TARGETS:-aarch64}"
INSTALLCXX="${INSTALLCXX:-true}"
QEMU="${QEMU:-true}"
SHARE=/usr/local/share/devc

fail() { echo "(!) cross-toolchain: $*" >&2; exit 1; }

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
  if [ -z "$missing" ]; then
    echo "cross-toolchain: already installed: $*"
    return 0
  fi
  apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
}

# target → GNU triplet, Debian architecture, CMake processor, qemu binary
describe() {
  case "$1" in
    aarch64|arm64) echo "aarch64-linux-gnu arm64 aarch64 qemu-aarch64" ;;
    armhf|arm) echo "arm-linux-gnueabihf armhf arm qemu-arm" ;;
    riscv64) echo "riscv64-linux-gnu riscv64 riscv64 qemu-riscv64" ;;
    *) return 1 ;;
  esac
}

targets="$(echo "$TARGETS" | tr ',' ' ')"
[ -n "$(echo "$targets" | tr -d ' ')" ] || fail "no targets given; choose among aarch64, armhf, riscv64."
packages="file"
for target in $targets; do
  spec="$(describe "$target")" || fail "unknown target '$target'; choose among aarch64, armhf, riscv64."
  # shellcheck disable=SC2086
  set -- $spec
  packages="$packages gcc-$1 libc6-dev-$2-cross"
  [ "$INSTALLCXX" = "true" ] && packages="$packages g++-$1"
done
[ "$QEMU" = "true" ] && packages="$packages qemu-user"
# shellcheck disable=SC2086
apt_install $packages
rm -rf /var/lib/apt/lists/*

mkdir -p "$SHARE/cmake"
first=""
for target in $targets; do
  # shellcheck disable=SC2086
  set -- $(describe "$target")
  triplet="$1" processor="$3" qemu="$4"
  name="$(echo "$target" | sed 's/^arm64$/aarch64/; s/^arm$/armhf/')"
  cxx_line="# C++: install with the installCxx option"
  [ "$INSTALLCXX" = "true" ] && cxx_line="set(CMAKE_CXX_COMPILER $triplet-g++)"
  cat > "$SHARE/cmake/$name.cmake" <<CMAKE
# CMake toolchain file for $triplet, written by devc's cross-toolchain feature.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $processor)
set(CMAKE_C_COMPILER $triplet-gcc)
$cxx_line
set(CMAKE_FIND_ROOT_PATH /usr/$triplet)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# ctest and try_run run target programs through qemu with the target's libraries.
set(CMAKE_CROSSCOMPILING_EMULATOR $qemu -L /usr/$triplet)
CMAKE
  echo "cross-toolchain: $target → $SHARE/cmake/$name.cmake"
  if [ -z "$first" ]; then
    first="$name"
    ln -sfn "$name.cmake" "$SHARE/cmake/cross.cmake"
    ln -sfn "/usr/$triplet" "$SHARE/sysroot"
  fi
done
echo "cross-toolchain: default target $first (CMAKE_TOOLCHAIN_FILE=$SHARE/cmake/cross.cmake)"
