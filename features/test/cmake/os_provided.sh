#!/bin/sh
# Scenario os_provided: version os-provided installs the distribution's package.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "cmake from the distribution" sh -c 'dpkg-query -W -f="\${Version}" cmake | grep -q .'
check "cmake on PATH" cmake --version
echo "cmake (os_provided): all checks passed"
