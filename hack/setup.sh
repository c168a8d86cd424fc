#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine to build, test and benchmark skiff:
# installs the rootless-container tools (and podman, for the benchmark),
# Debian's docker.io (for make test-e2e-docker, which starts a dockerd of
# its own: the package's is not started, and is stopped if it was),
# golangci-lint (for make lint) in /usr/local/bin,
# creates the unprivileged user $SKIFF_USER (default skiffuser) with a
# subordinate id range, builds and installs /usr/local/bin/skiff, builds the
# busybox test image and loads it into root's and the user's engines.
#
# usage (as root): hack/setup.sh        Safe to run again.
set -euo pipefail
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SKIFF_USER=${SKIFF_USER:-skiffuser}

log() { echo "setup: $*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: must run as root" >&2
	exit 1
fi
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

log "installing packages"
export DEBIAN_FRONTEND=noninteractive
# No service starts on install (docker.io's init script would start the
# system's dockerd), and needrestart restarts nothing.
export NEEDRESTART_SUSPEND=1
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# hack/setup.sh: no service starts during its apt-get install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	made_policy=1
fi
apt-get -qq update
# nftables: rootlesskit's transparent source IP for published ports needs
# nft; iperf3 and dnsutils (dig) are for the network tests and benchmark.
# docker.io is what make test-e2e-docker checks the Docker-compatible
# behaviour against; docker-compose (1.29) is for the compose tests.
# The last line is the build toolchain (go.podman.io/storage's cgo needs btrfs headers).
apt-get -qq -y -o Dpkg::Use-Pty=0 install --no-upgrade \
	uidmap slirp4netns fuse-overlayfs fuse3 busybox-static iproute2 procps sudo debootstrap podman runc \
	rsyslog rsyslog-openssl nftables iperf3 dnsutils \
	docker.io docker-compose \
	make gcc libc6-dev pkg-config libbtrfs-dev libseccomp-dev >/dev/null
if [ -n "$made_policy" ]; then
	rm -f "$policy"
fi
# The system's dockerd (its pid file is the package's default) is not
# wanted running: the tests start their own.
if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
	log "stopping the dockerd the docker.io package started"
	/etc/init.d/docker stop >/dev/null 2>&1 || kill -TERM "$(cat /var/run/docker.pid)"
	for _ in $(seq 100); do
		kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null || break
		sleep 0.1
	done
fi

for dev in /dev/net/tun /dev/fuse; do
	if [ -e "$dev" ]; then
		chmod 0666 "$dev"
	fi
done

if ! command -v go >/dev/null; then
	echo "setup.sh: Go is needed at /usr/local/go (the machine image ships it)" >&2
	exit 1
fi

# The linter make lint runs, at the version CI uses (built from source
# through the Go module proxy: a couple of minutes the first time).
GOLANGCI_LINT_VERSION=v2.15.0
if ! /usr/local/bin/golangci-lint version 2>/dev/null | grep -q "version ${GOLANGCI_LINT_VERSION#v} "; then
	log "installing golangci-lint $GOLANGCI_LINT_VERSION"
	GOBIN=/usr/local/bin go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
fi

if ! id "$SKIFF_USER" >/dev/null 2>&1; then
	log "creating user $SKIFF_USER"
	useradd -m -s /bin/bash "$SKIFF_USER"
fi
if ! grep -q "^$SKIFF_USER:" /etc/subuid 2>/dev/null; then
	log "giving $SKIFF_USER subordinate uids 100000-165535"
	usermod --add-subuids 100000-165535 "$SKIFF_USER"
fi
if ! grep -q "^$SKIFF_USER:" /etc/subgid 2>/dev/null; then
	log "giving $SKIFF_USER subordinate gids 100000-165535"
	usermod --add-subgids 100000-165535 "$SKIFF_USER"
fi

# A second user with no subordinate ids, for the tests of that case
# (useradd may allocate a range on its own: take it away).
if ! id skiffnosub >/dev/null 2>&1; then
	log "creating user skiffnosub (no subordinate ids)"
	useradd -m -s /bin/bash skiffnosub
fi
sed -i '/^skiffnosub:/d' /etc/subuid /etc/subgid

log "building skiff"
make build
# Engines of an older skiff would go on answering: stop them (their
# containers keep running under their monitors).
if pkill -TERM -f '^/usr/local/bin/skiff engine' 2>/dev/null; then
	sleep 1
fi
install -m 0755 bin/skiff /usr/local/bin/skiff

# cgroup v1 hosts: hand the test user a delegated subtree, so that its
# rootless containers get real resource limits.
if [ -d /sys/fs/cgroup/memory ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
	log "delegating a cgroup v1 subtree to $SKIFF_USER"
	/usr/local/bin/skiff system cgroup-setup --user "$SKIFF_USER" >/dev/null
fi

log "building the busybox test image"
go run ./hack/mkimage -o bin/images >/dev/null

# The user may not be able to read the repository: load from a copy.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
install -m 0644 bin/images/busybox.tar "$tmp/busybox.tar"

log "loading busybox into root's engine"
/usr/local/bin/skiff load -i "$tmp/busybox.tar"
log "loading busybox into $SKIFF_USER's engine"
(cd / && sudo -u "$SKIFF_USER" -H /usr/local/bin/skiff load -i "$tmp/busybox.tar")

log "done"
