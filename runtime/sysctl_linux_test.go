package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteSysctls(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/eth0.100/forwarding", "kernel/shmmax"} {
		writeFiles(t, root, map[string]string{filepath.Join("proc/sys", f): "0\n"})
	}
	err := writeSysctls(root, map[string]string{
		"net.ipv4.ip_forward":               "1",
		"net/ipv4/conf/eth0.100/forwarding": "1",
		"kernel.shmmax":                     "4096",
	})
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"net/ipv4/ip_forward": "1", "net/ipv4/conf/eth0.100/forwarding": "1", "kernel/shmmax": "4096"} {
		if b, _ := os.ReadFile(filepath.Join(root, "proc/sys", f)); string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
	for _, bad := range []string{"net..x", "../../etc/passwd", "net/../../x", ""} {
		if err := writeSysctls(root, map[string]string{bad: "1"}); err == nil {
			t.Errorf("writeSysctls accepted %q", bad)
		}
	}
}
