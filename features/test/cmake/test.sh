#!/bin/sh
# cmake with its defaults: the distribution's CMake configures and builds a project.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "cmake" cmake --version
check "ctest" ctest --version
check "from the distribution" dpkg-query -W cmake
dir="$(mktemp -d)"
printf 'cmake_minimum_required(VERSION 3.13)\nproject(probe NONE)\nmessage(STATUS "cmake works")\n' > "$dir/CMakeLists.txt"
check "configures a project" sh -c "cmake -S '$dir' -B '$dir/build' | grep -q 'cmake works'"
rm -rf "$dir"
echo "cmake: all checks passed"
