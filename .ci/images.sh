#!/usr/bin/env bash
# Builds the local base images every end-to-end test uses. No registry is
# reachable on CI machines, so each image is made from Debian packages:
#   devc-test/busybox:latest   busybox-static, a shell and coreutils (fast tests)
#   devc-test/debian:bookworm  debootstrap minbase (tests that need apt)
#   devc-test/hooks-base:latest  busybox + devcontainer.metadata hooks and a
#                              login-shell PATH entry (lifecycle tests)
# Idempotent: an image that already exists is kept.
set -euo pipefail

have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have devc-test/busybox:latest; then
  root=$(mktemp -d)
  mkdir -p "$root"/bin "$root"/tmp "$root"/etc "$root"/root "$root"/home
  cp /bin/busybox "$root"/bin/busybox
  for applet in $("$root"/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root"/etc/passwd
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root"/etc/group
  chmod 1777 "$root"/tmp
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["/bin/sh"]' - devc-test/busybox:latest
  rm -rf "$root"
fi

if ! have devc-test/debian:bookworm; then
  root=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/tmp/debootstrap.log 2>&1 \
    || { tail -20 /tmp/debootstrap.log; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["/bin/bash"]' - devc-test/debian:bookworm
  rm -rf "$root"
fi
if ! have devc-test/hooks-base:latest; then
  ctx=$(mktemp -d)
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM devc-test/busybox:latest
LABEL devcontainer.metadata='[{"onCreateCommand": "echo image-onCreate >> order.log", "postStartCommand": "echo image-postStart >> order.log"}]'
RUN mkdir -p /opt/probe/bin && echo 'export PATH="$PATH:/opt/probe/bin"' > /etc/profile
DOCKERFILE
  docker build -q -t devc-test/hooks-base:latest "$ctx" >/dev/null
  rm -rf "$ctx"
fi

docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^devc-test/'
