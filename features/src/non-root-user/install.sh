#!/bin/sh
# non-root-user: create (or keep) a user with the given name, UID and GID,
# optionally with passwordless sudo. Idempotent: an existing user of that
# name is kept when its UID matches; a different UID is an error.
set -eu

USERNAME="${USERNAME:-dev}"
USER_UID="${USERUID:-1000}"
USER_GID="${USERGID:-1000}"
SUDO="${SUDO:-true}"
LOGIN_SHELL="${USERSHELL:-/bin/bash}"

fail() { echo "(!) non-root-user: $*" >&2; exit 1; }

# /etc/os-release is read in a subshell: its VERSION would clobber options.
os="$(. /etc/os-release 2>/dev/null; echo "${ID:-unknown} ${ID_LIKE:-}|${PRETTY_NAME:-unknown}")"
case " ${os%%|*} " in
  *" debian "*|*" ubuntu "*) ;;
  *) fail "supports Debian and Ubuntu only; this image is ${os#*|}." ;;
esac

case "$USERNAME" in
  ""|root) fail "username must be a non-root name, not '$USERNAME'." ;;
  *[!a-z0-9_.-]*|-*) fail "username '$USERNAME' is not a valid user name (a-z, 0-9, _ . -)." ;;
esac
case "$USER_UID$USER_GID" in *[!0-9]*) fail "userUid and userGid must be numbers (got '$USER_UID', '$USER_GID')." ;; esac

apt_install() {
  missing=""
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  [ -n "$missing" ] || return 0
  apt-get update
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
  rm -rf /var/lib/apt/lists/*
}

[ -x "$LOGIN_SHELL" ] || fail "the shell $LOGIN_SHELL does not exist in this image."

# The primary group: the one with this GID, else a new one named like the user.
group="$(getent group "$USER_GID" | cut -d: -f1 || true)"
if [ -z "$group" ]; then
  if getent group "$USERNAME" >/dev/null; then
    groupmod --gid "$USER_GID" "$USERNAME"
  else
    groupadd --gid "$USER_GID" "$USERNAME"
  fi
  group="$USERNAME"
fi

if existing="$(getent passwd "$USERNAME")"; then
  existing_uid="$(echo "$existing" | cut -d: -f3)"
  [ "$existing_uid" = "$USER_UID" ] || fail "user $USERNAME exists with UID $existing_uid, not $USER_UID."
  echo "non-root-user: $USERNAME exists (UID $USER_UID)"
else
  taken="$(getent passwd "$USER_UID" | cut -d: -f1 || true)"
  [ -z "$taken" ] || fail "UID $USER_UID is taken by $taken; choose another userUid."
  useradd --uid "$USER_UID" --gid "$group" --create-home --shell "$LOGIN_SHELL" "$USERNAME"
  echo "non-root-user: created $USERNAME (UID $USER_UID, group $group)"
fi

if [ "$SUDO" = "true" ]; then
  apt_install sudo
  echo "$USERNAME ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/$USERNAME"
  chmod 0440 "/etc/sudoers.d/$USERNAME"
else
  rm -f "/etc/sudoers.d/$USERNAME"
fi
