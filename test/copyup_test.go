package test

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/hack/testimages"
)

// TestVolumeCopyUp: a new volume mounted over an image's directory gets
// its content with hard links, extended attributes, owners and modes
// kept, as Docker's copy-up (skiff's used to copy hard links twice and
// drop the attributes).
func TestVolumeCopyUp(t *testing.T) {
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimages.WithVolumeTree(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimages.Push(registry, "copyup:latest", img); err != nil {
		t.Fatal(err)
	}
	ref := registry + "/copyup:latest"
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "pull", ref)
		t.Cleanup(func() { e.skiff(t, "volume", "rm", "-f", "copyup-vol"); e.skiff(t, "rmi", "-f", ref) })
		out := e.mustSkiff(t, "run", "--rm", "-v", "copyup-vol:/data", ref, "sh", "-c",
			"stat -c '%i %h' /data/a /data/b; stat -c '%u:%g %a' /data/o; cat /data/a /data/o")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 5 {
			t.Fatalf("unexpected output %q", out)
		}
		ia, ib := strings.Fields(lines[0]), strings.Fields(lines[1])
		if ia[0] != ib[0] || ia[1] != "2" {
			t.Errorf("/data/a and /data/b are not one file with two links: %q %q", lines[0], lines[1])
		}
		if lines[2] != "1000:1000 640" {
			t.Errorf("/data/o is %q, want 1000:1000 640", lines[2])
		}
		if lines[3] != "linked" || lines[4] != "owned" {
			t.Errorf("content %q", lines[3:])
		}
		mp := strings.TrimSpace(e.mustSkiff(t, "volume", "inspect", "-f", "{{.Mountpoint}}", "copyup-vol"))
		buf := make([]byte, 16)
		n, err := unix.Lgetxattr(filepath.Join(mp, "x"), "user.skiff", buf)
		if err != nil || string(buf[:n]) != "kept" {
			t.Errorf("the volume's x has user.skiff=%q (%v), want kept", buf[:max(n, 0)], err)
		}
	})
}
