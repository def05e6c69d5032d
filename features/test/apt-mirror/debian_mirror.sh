#!/bin/sh
# Scenario debian_mirror: the main archive points at the given mirror, the
# proxy file is written, and apt still works.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "sources use the mirror" sh -c 'cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -q "http://deb.debian.org/debian "'
check "the original sources are kept" sh -c 'ls /etc/apt/sources.list*.devc-orig /etc/apt/sources.list.d/*.devc-orig 2>/dev/null | grep -q .'
check "apt-get update works" sh -c 'apt-get update >/dev/null'
rm -rf /var/lib/apt/lists/*
echo "apt-mirror (debian_mirror): all checks passed"
