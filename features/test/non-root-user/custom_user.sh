#!/bin/sh
# Scenario custom_user: another name and UID, no sudo.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "user builder exists" id builder
check "UID 1234" test "$(id -u builder)" = 1234
check "GID 1234" test "$(id -g builder)" = 1234
check "no sudoers entry" test ! -e /etc/sudoers.d/builder
echo "non-root-user (custom_user): all checks passed"
