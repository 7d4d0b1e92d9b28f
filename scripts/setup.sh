#!/bin/sh
# Sets up a Debian 12 (or newer) host for strata, as root: the Debian tools strata drives,
# then the Node.js dependencies, then the build. Safe to run again.
set -eu
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
# A failing third-party repository must not stop the set-up; Debian's own lists are what count.
apt-get update -q || echo "setup: apt-get update reported errors; continuing with the lists it got" >&2
apt-get install -y -q --no-install-recommends \
  mmdebstrap bubblewrap squashfs-tools util-linux mount iproute2 tar zstd gzip attr \
  debian-archive-keyring ca-certificates qemu-user-static arch-test \
  e2fsprogs btrfs-progs dosfstools mtools fdisk bmap-tools \
  qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64 ipxe-qemu chromium gpg gpg-agent gpgv gpgconf \
  busybox xorriso skopeo docker-registry podman

npm ci --no-audit --no-fund
npm run build
