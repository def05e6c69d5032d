#!/bin/sh
# apt-mirror with its default options: nothing changes and apt still works.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "no apt proxy configured" test ! -e /etc/apt/apt.conf.d/90devc-proxy
check "package sources exist" sh -c 'cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -q .'
check "apt-get update works" sh -c 'apt-get update >/dev/null'
rm -rf /var/lib/apt/lists/*
echo "apt-mirror: all checks passed"
