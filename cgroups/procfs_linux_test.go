package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSelfCgroups proves the parsing of /proc/PID/cgroup, v1 and v2 lines.
func TestSelfCgroups(t *testing.T) {
	p := writeTemp(t, "9:name=systemd:/\n4:memory:/process_api/x\n2:cpu,cpuacct:/a b\n0::/user.slice/u.service\n")
	v2, v1, err := selfCgroups(p)
	if err != nil {
		t.Fatal(err)
	}
	if v2 != "/user.slice/u.service" {
		t.Errorf("v2 = %q", v2)
	}
	want := map[string]string{"name=systemd": "/", "memory": "/process_api/x", "cpu": "/a b", "cpuacct": "/a b"}
	if !reflect.DeepEqual(v1, want) {
		t.Errorf("v1 = %v", v1)
	}
}

// TestV1Mounts proves which mountinfo lines count as v1 hierarchies: cgroup
// (not cgroup2) mounts under the root, with known controllers, joined ones
// kept together, the first mount of each.
func TestV1Mounts(t *testing.T) {
	p := writeTemp(t, `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 23 0:32 / /mnt/other\040memory rw - cgroup cgroup rw,memory
43 31 0:39 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
`)
	got, err := v1Mounts(p, "/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	want := []v1Mount{
		{"/sys/fs/cgroup/cpu,cpuacct", []string{"cpu", "cpuacct"}},
		{"/sys/fs/cgroup/memory", []string{"memory"}},
		{"/sys/fs/cgroup/pids", []string{"pids"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("v1Mounts = %v\nwant %v", got, want)
	}
	got, _ = v1Mounts(p, "/mnt")
	if want := []v1Mount{{"/mnt/other memory", []string{"memory"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("v1Mounts(/mnt) = %v", got)
	}
}

// TestV1Defaults proves the v1 parent names: "skiff" as root,
// "skiff-USER" rootless, Options.Parent when given.
func TestV1Defaults(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{}, "skiff"},
		{Options{Rootless: true, UID: 4242424}, "skiff-4242424"}, // no such user: the number
		{Options{Parent: "/a/b/"}, "a/b"},
		{Options{Rootless: true, Parent: "skiff-bob"}, "skiff-bob"},
	} {
		if got := newV1(tc.opt, nil).parent; got != tc.want {
			t.Errorf("newV1(%+v).parent = %q, want %q", tc.opt, got, tc.want)
		}
	}
}

// TestV1MissingController proves, without root, that a limit whose v1
// hierarchy is not mounted fails naming the flag and making nothing, and
// that a rootless limit on a hierarchy without the delegated subtree
// fails with ErrNotDelegated and the cgroup-setup hint.
func TestV1MissingController(t *testing.T) {
	tmp := t.TempDir()
	m := newV1(Options{Root: tmp, Parent: "p"}, []v1Mount{{filepath.Join(tmp, "pids"), []string{"pids"}}})
	err := m.Create("c1", Resources{Memory: 64 * mib})
	if !errors.Is(err, ErrNotSupported) || err.Error() != "--memory needs the memory cgroup controller, which is not mounted under "+tmp {
		t.Errorf("Create = %v", err)
	}
	err = m.Create("c1", Resources{BlkioWeight: 100})
	if !errors.Is(err, ErrNotSupported) || !strings.HasPrefix(err.Error(), "--blkio-weight needs the blkio ") {
		t.Errorf("Create = %v", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("failed Create made %v", entries)
	}

	if err := os.Mkdir(filepath.Join(tmp, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	m = newV1(Options{Root: tmp, Rootless: true, UID: 4242424}, []v1Mount{{filepath.Join(tmp, "pids"), []string{"pids"}}})
	err = m.Create("c1", Resources{PidsLimit: i64(5)})
	if !errors.Is(err, ErrNotDelegated) || err.Error() != "--pids-limit needs a delegated pids cgroup: run as root: skiff system cgroup-setup --user 4242424" {
		t.Errorf("Create = %v", err)
	}
	// No limits and nothing delegated: the container runs without a cgroup.
	if err := m.Create("c1", Resources{}); err != nil {
		t.Errorf("Create without limits = %v", err)
	}
	if err := m.Add("c1", os.Getpid()); err != nil {
		t.Errorf("Add = %v", err)
	}
	if c := m.Available(); c.Pids || !strings.Contains(c.Hint, "skiff system cgroup-setup --user 4242424") {
		t.Errorf("Available() = %+v", c)
	}
}

// TestDeviceNumbers proves DeviceNumbers on a block device if the host has
// one, and its refusal of other files.
func TestDeviceNumbers(t *testing.T) {
	if _, _, err := DeviceNumbers("/dev/null"); err == nil || err.Error() != "/dev/null is not a block device" {
		t.Errorf("DeviceNumbers(/dev/null) = %v", err)
	}
	if _, _, err := DeviceNumbers("/nonexistent"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DeviceNumbers(/nonexistent) = %v", err)
	}
	dev, want := anyBlockDevice(t)
	maj, mn, err := DeviceNumbers(dev)
	if err != nil {
		t.Fatal(err)
	}
	if got := (devKey{maj, mn}).String(); got != want {
		t.Errorf("DeviceNumbers(%s) = %s, want %s (from sysfs)", dev, got, want)
	}
}

// anyBlockDevice returns a block device node and its "MAJ:MIN", or skips.
func anyBlockDevice(t *testing.T) (string, string) {
	t.Helper()
	dev, num := anyBlockDeviceOrEmpty()
	if dev == "" {
		t.Skip("needs a block device in /sys/block with a node in /dev")
	}
	return dev, num
}
