package test

import (
	"strings"
	"testing"
)

// TestBadDetachKeys: run with a detach sequence that does not parse is
// one error, in the daemon's words, and leaves no container behind.
func TestBadDetachKeys(t *testing.T) {
	skiffOnly(t, "beyond Docker: the docker CLI 28 creates the container, then its attach fails (\"unable to upgrade to tcp, received 400\", exit 1) and the container stays")
	forEachMode(t, func(t *testing.T, e *env) {
		e.cleanupContainer(t, "dk-bad")
		r := e.skiff(t, "run", "--name", "dk-bad", "--detach-keys", "ctrl-", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "Invalid detach keys (ctrl-) provided") {
			t.Errorf("run --detach-keys ctrl-: %s", r)
		}
		if out := e.mustSkiff(t, "ps", "-a", "-q", "--filter", "name=dk-bad"); strings.TrimSpace(out) != "" {
			t.Errorf("a refused run left a container: %q", out)
		}
	})
}
