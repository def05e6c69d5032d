#!/bin/sh
# apt-mirror: rewrite the package sources to a mirror and/or set an apt proxy.
# Idempotent: the original sources are kept once as *.devc-orig and every run
# rewrites from them, so running again (or with other options) is safe.
set -eu

MIRROR="${MIRROR:-}"
SECURITYMIRROR="${SECURITYMIRROR:-}"
HTTPPROXY="${HTTPPROXY:-}"

# /etc/os-release is read in a subshell: its VERSION would clobber options.
os="$(. /etc/os-release 2>/dev/null; echo "${ID:-unknown} ${ID_LIKE:-}|${PRETTY_NAME:-unknown}")"
case " ${os%%|*} " in
  *" debian "*|*" ubuntu "*) ;;
  *) echo "(!) apt-mirror supports Debian and Ubuntu only; this image is ${os#*|}." >&2; exit 1 ;;
esac

# A URL as a sed replacement: no trailing slash, `&`, `\` and `#` escaped.
esc() { printf '%s' "$1" | sed 's#/*$##; s/[&\\#]/\\&/g'; }

# The distributions' default archives (extended regular expressions). Each is
# matched only when followed by white space or the end of the line, so the
# main archive's pattern never eats the start of "debian-security".
MAIN_RE='https?://(deb|httpredir|ftp\.[a-z.]+)\.debian\.org/debian/?|https?://([a-z]+\.)?archive\.ubuntu\.com/ubuntu/?|https?://ports\.ubuntu\.com/ubuntu-ports/?'
SECURITY_RE='https?://(security|deb)\.debian\.org/debian-security/?|https?://security\.ubuntu\.com/ubuntu/?'

rewrite() {
  file="$1"
  [ -f "$file.devc-orig" ] || cp -p "$file" "$file.devc-orig"
  cp -p "$file.devc-orig" "$file.devc-new"
  if [ -n "$SECURITYMIRROR" ]; then
    sed -E -i "s#($SECURITY_RE)([[:space:]]|\$)#$(esc "$SECURITYMIRROR")\\3#g" "$file.devc-new"
  fi
  if [ -n "$MIRROR" ]; then
    sed -E -i "s#($MAIN_RE)([[:space:]]|\$)#$(esc "$MIRROR")\\4#g" "$file.devc-new"
  fi
  mv "$file.devc-new" "$file"
}

if [ -n "$MIRROR$SECURITYMIRROR" ]; then
  found=0
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    found=1
    rewrite "$file"
    echo "apt-mirror: $file"
    grep -v '^#' "$file" | grep -E '^(deb|URIs)' | sed 's/^/  /' || true
  done
  [ "$found" = 1 ] || { echo "(!) apt-mirror: no package sources found under /etc/apt." >&2; exit 1; }
fi

PROXY_CONF=/etc/apt/apt.conf.d/90devc-proxy
if [ -n "$HTTPPROXY" ]; then
  printf 'Acquire::http::Proxy "%s";\nAcquire::https::Proxy "%s";\n' "$HTTPPROXY" "$HTTPPROXY" > "$PROXY_CONF"
  echo "apt-mirror: apt uses the proxy $HTTPPROXY"
else
  rm -f "$PROXY_CONF"
fi
rm -rf /var/lib/apt/lists/*
