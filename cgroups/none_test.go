package cgroups

import (
	"errors"
	"strings"
	"testing"
)

func TestNone(t *testing.T) {
	m := None(errors.New("no cgroup filesystem"))
	if err := m.Create("c", Resources{}); err != nil {
		t.Errorf("Create without limits: %v", err)
	}
	if err := m.Create("c", Resources{Memory: 1 << 20}); err == nil || !strings.Contains(err.Error(), "no cgroup filesystem") {
		t.Errorf("Create with a limit: %v, want the reason", err)
	}
	if err := m.Update("c", Resources{}); err != nil {
		t.Errorf("Update without limits (a restart policy change): %v", err)
	}
	if err := m.Update("c", Resources{CpusetCpus: "0"}); err == nil {
		t.Error("Update with a limit succeeded")
	}
	if m.Add("c", 1) != nil || m.Destroy("c") != nil || m.ProcsFiles("c") != nil || m.Freeze("c") == nil {
		t.Error("the no-op operations do not succeed, or pause does")
	}
	if pids, err := m.Pids("c"); err != nil || len(pids) != 0 {
		t.Errorf("Pids: %v %v", pids, err)
	}
	if a := m.Available(); a.Memory || a.Hint == "" {
		t.Errorf("Available: %+v", a)
	}
}
