package test

import (
	"strings"
	"testing"
)

// TestStorageDrivers runs the core cases on every storage driver, each
// with an engine and store of its own.
func TestStorageDrivers(t *testing.T) {
	skiffOnly(t, "skiff's storage drivers, each with an engine of its own")
	for _, mode := range strings.Split(*modes, ",") {
		for _, driver := range []string{"overlay", "fuse-overlayfs", "vfs"} {
			t.Run(mode+"/"+driver, func(t *testing.T) {
				e := newEnv(t, mode, "SKIFF_STORAGE_DRIVER="+driver)
				t.Cleanup(func() {
					e.shutdown()
					delete(allEnvs, mode+"SKIFF_STORAGE_DRIVER="+driver)
				})
				info := e.mustSkiff(t, "info")
				contains(t, "info", info, "Storage Driver: "+driver)
				if out := e.mustSkiff(t, "run", "--rm", "busybox", "echo", "hello"); out != "hello\n" {
					t.Errorf("run: %q", out)
				}
				// Deleting a lower-layer directory (needs userxattr rootless).
				e.mustSkiff(t, "run", "--name", "drv-a", "busybox", "sh", "-c", "rm -r /usr/bin && echo x > /etc/passwd")
				e.cleanupContainer(t, "drv-a")
				out := e.mustSkiff(t, "run", "--rm", "busybox", "sh", "-c", "test -d /usr/bin && grep -c root /etc/passwd")
				if out != "1\n" {
					t.Errorf("writes leaked into the image: %q", out)
				}
				e.mustSkiff(t, "pull", ownedRef)
				out = e.mustSkiff(t, "run", "--rm", ownedRef, "stat", "-c", "%u:%g", "/owned/by-1000")
				if strings.TrimSpace(out) != "1000:1000" {
					t.Errorf("ownership: %q", out)
				}
			})
		}
	}
}
