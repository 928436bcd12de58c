#!/bin/sh
# Makes the Debian bookworm image that the Containerfile's build stage starts
# from, locally with debootstrap: no container registry is needed, only a
# Debian mirror. The build tools (gcc, cmake, make, busybox-static) are put
# in at bootstrap time, so the image build itself needs no network.
#
#   tools/docker/base-image.sh [TAG [CACHE.tar]]
#
# TAG defaults to localhost/vectorwise-build:bookworm. Nothing is done if the
# image exists. With CACHE.tar, the root file system is kept there (about
# 600 MB) and re-imported from it next time instead of bootstrapping again
# (about 2 minutes). Needs root (debootstrap); MIRROR overrides the mirror.
set -eu
tag=${1:-localhost/vectorwise-build:bookworm}
cache=${2:-}
podman=${PODMAN:-podman}

if $podman image exists "$tag"; then
    exit 0
fi
if [ -z "$cache" ] || [ ! -s "$cache" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    debootstrap --variant=minbase --include=gcc,libc6-dev,cmake,make,busybox-static \
        bookworm "$work/root" "${MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" ||
        { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
    rm -rf "$work"/root/var/cache/apt/archives/*.deb
    tar -C "$work/root" -cf "${cache:-$work/root.tar}" .
    cache=${cache:-$work/root.tar}
fi
$podman import --quiet "$cache" "$tag" >/dev/null
