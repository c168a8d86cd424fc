package engine

import (
	"context"
	"errors"
	"log"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/cgroups"
)

// TestUpdateWithoutCgroups: on a host without cgroups, changing only the
// restart policy of a running container works (it used to panic on the
// nil manager), and a limit is refused with why.
func TestUpdateWithoutCgroups(t *testing.T) {
	reason := errors.New("no cgroup filesystem at /sys/fs/cgroup")
	e := newTestEngine()
	e.cgroupErr, e.cgroups = reason, cgroups.None(reason)
	e.log = log.New(&strings.Builder{}, "", 0)
	c := &ctr{dir: t.TempDir(), changed: make(chan struct{})}
	c.rec = record{ID: strings.Repeat("ab", 32), Name: "/web",
		Config: &container.Config{}, HostConfig: &container.HostConfig{},
		State: state{Status: container.StateRunning, Pid: 1}}
	e.containers[c.rec.ID] = c
	e.names[c.rec.Name] = c.rec.ID
	resp, err := e.ContainerUpdate(context.Background(), "web", container.UpdateConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyAlways},
	})
	if err != nil {
		t.Fatalf("update of the restart policy: %v", err)
	}
	if resp.Warnings == nil || c.rec.HostConfig.RestartPolicy.Name != container.RestartPolicyAlways {
		t.Errorf("the restart policy is %q", c.rec.HostConfig.RestartPolicy.Name)
	}
	_, err = e.ContainerUpdate(context.Background(), "web", container.UpdateConfig{Resources: container.Resources{Memory: 64 << 20}})
	if err == nil || !strings.Contains(err.Error(), "resource limits are not available") {
		t.Errorf("update of a limit without cgroups: %v", err)
	}
}
