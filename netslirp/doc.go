// Package netslirp is skiff's container networking: networks and their
// address management, bridges and veth pairs inside the namespace that
// holds them (rootless: the network namespace rootlesskit detached for
// skiff, outbound through slirp4netns; root: the host), the firewall rules
// that masquerade and isolate them, per-container network namespaces and
// published ports (rootless: rootlesskit's builtin port driver; root:
// DNAT rules plus a userland proxy for loopback).
package netslirp
