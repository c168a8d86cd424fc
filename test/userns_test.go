package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootlessWithoutSubIDRange: a user with no /etc/subuid range still
// runs containers with only their own uid mapped, and is told why images
// with other owners fail.
func TestRootlessWithoutSubIDRange(t *testing.T) {
	skiffOnly(t, "rootless mode without a subuid range")
	e := newEnv(t, "nosubid")
	out := e.mustSkiff(t, "run", "--rm", "busybox", "cat", "/proc/self/uid_map")
	if f := strings.Fields(out); len(f) != 3 || f[0] != "0" || f[1] != e.uidString() || f[2] != "1" {
		t.Errorf("uid_map %q, want only 0 -> %d", out, e.uid)
	}
	log, err := os.ReadFile(filepath.Join(e.runDir(), "engine.log"))
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "engine log", string(log), "WARNING: no range for "+*noSubID+" in /etc/subuid")
	r := e.skiff(t, "pull", ownedRef)
	if r.code == 0 {
		t.Errorf("pulling an image with a file owned by uid 1000 worked with one uid mapped: %s", r)
	}
}
