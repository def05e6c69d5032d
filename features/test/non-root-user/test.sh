#!/bin/sh
# non-root-user with its defaults: user dev, UID/GID 1000, passwordless sudo.
set -eu
check() { label="$1"; shift; if "$@"; then echo "PASS: $label"; else echo "FAIL: $label" >&2; exit 1; fi; }
check "user dev exists" id dev
check "UID 1000" test "$(id -u dev)" = 1000
check "GID 1000" test "$(id -g dev)" = 1000
check "home folder owned by dev" test "$(stat -c %U /home/dev)" = dev
check "login shell is bash" sh -c 'getent passwd dev | grep -q ":/bin/bash$"'
check "passwordless sudo" su dev -s /bin/sh -c 'sudo -n true'
echo "non-root-user: all checks passed"
