#!/usr/bin/env bash
# Builds the test image debian:bookworm (also tagged debian:latest) as a
# single-layer docker-save tarball from `debootstrap --variant=minbase`.
#
# usage (as root, from anywhere): hack/mkimage-debian.sh [OUTPUT.tar]
# OUTPUT defaults to bin/images/debian.tar in the repository. Does nothing
# if OUTPUT already exists.
set -euo pipefail
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo/bin/images/debian.tar}
case $out in /*) ;; *) out=$PWD/$out ;; esac

if [ -e "$out" ]; then
	echo "$out exists, not rebuilding"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "mkimage-debian.sh: must run as root (debootstrap)" >&2
	exit 1
fi

work=$(mktemp -d /var/tmp/skiff-debian.XXXXXX)
cleanup() {
	# debootstrap may leave its mounts behind if it fails.
	for m in proc sys dev/pts dev; do
		umount -l "$work/rootfs/$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

rootfs=$work/rootfs
echo "debootstrap bookworm into $rootfs ..."
debootstrap --variant=minbase bookworm "$rootfs" >"$work/debootstrap.log" 2>&1 || {
	tail -n 30 "$work/debootstrap.log" >&2
	exit 1
}

# Drop what a container image does not need.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
	"$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/bootstrap.log
# debootstrap copied these from the host; engines provide their own.
for f in etc/hostname etc/resolv.conf; do
	rm -f "$rootfs/$f"
	install -m 0644 /dev/null "$rootfs/$f"
done

mkdir -p "$(dirname "$out")"
cd "$repo"
go run ./hack/mkimage -rootfs "$rootfs" -tag debian:bookworm -tag debian:latest -cmd bash -o "$out"
