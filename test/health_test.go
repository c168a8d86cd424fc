package test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/skiff-dev/skiff/hack/testimages"
)

// waitHealth polls the container's health status until it is want.
func (e *env) waitHealth(t *testing.T, name, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		r := e.skiff(t, "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", name)
		if got = strings.TrimSpace(r.stdout); got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s's health is %q, want %q", name, got, want)
}

// TestHealthcheck: --health-* and the image's HEALTHCHECK run a probe in
// the container; State.Health, ps's status and filter, and the
// health_status events follow it, across an engine restart; the docker
// CLI reads it; --no-healthcheck turns the image's off.
func TestHealthcheck(t *testing.T) {
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := bb.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "true"}, Interval: 200 * time.Millisecond}
	withHC, err := mutate.ConfigFile(bb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimages.Push(registry, "healthy:latest", withHC); err != nil {
		t.Fatal(err)
	}
	docker, err := lookDocker()
	if err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		e.cleanupContainer(t, "hc1")
		since := time.Now().Add(-time.Second)
		e.mustSkiff(t, "run", "-d", "--name", "hc1", "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms",
			"--health-retries", "2", "busybox", "sh", "-c", "sleep 1; touch /tmp/ok; sleep 300")
		if out := e.mustSkiff(t, "ps", "--filter", "name=hc1", "--format", "{{.Status}}"); !strings.Contains(out, "(health: starting)") {
			t.Errorf("ps status right after start: %q", out)
		}
		e.waitHealth(t, "hc1", "healthy")
		if out := e.mustSkiff(t, "ps", "--filter", "health=healthy", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(out, "hc1 Up") || !strings.Contains(out, "(healthy)") {
			t.Errorf("ps --filter health=healthy: %q", out)
		}
		d := e.dockerEnv()
		if r := d.run(t, nil, docker, "inspect", "-f", "{{.State.Health.Status}} {{(index .State.Health.Log 0).ExitCode}}", "hc1"); r.code != 0 || !strings.HasPrefix(r.stdout, "healthy ") {
			t.Errorf("docker inspect of the health: %s", r)
		}
		// Across an engine restart the probe goes on.
		if e.target == "skiff" {
			e.restartEngine(t)
		}
		e.mustSkiff(t, "exec", "hc1", "rm", "/tmp/ok")
		e.waitHealth(t, "hc1", "unhealthy")
		r := e.skiff(t, "inspect", "-f", "{{.State.Health.FailingStreak}}", "hc1")
		if n, _ := strconv.Atoi(strings.TrimSpace(r.stdout)); n < 2 {
			t.Errorf("FailingStreak %q, want 2 or more", r.stdout)
		}
		out := e.mustSkiff(t, "events", "--since", unixArg(since), "--until", unixArg(time.Now().Add(time.Second)),
			"--filter", "container=hc1", "--filter", "event=health_status", "--format", "{{.Action}}")
		if !strings.Contains(out, "health_status: healthy") || !strings.Contains(out, "health_status: unhealthy") {
			t.Errorf("health_status events: %q", out)
		}
		e.mustSkiff(t, "rm", "-f", "hc1")

		// The image's HEALTHCHECK, and --no-healthcheck.
		ref := registry + "/healthy:latest"
		e.cleanupContainer(t, "hc2")
		e.cleanupContainer(t, "hc3")
		e.mustSkiff(t, "run", "-d", "--name", "hc2", ref, "sleep", "300")
		e.waitHealth(t, "hc2", "healthy")
		e.mustSkiff(t, "run", "-d", "--name", "hc3", "--no-healthcheck", ref, "sleep", "300")
		time.Sleep(500 * time.Millisecond)
		if r := e.skiff(t, "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", "hc3"); strings.TrimSpace(r.stdout) != "none" {
			t.Errorf("--no-healthcheck: health %s", r)
		}
		if r := e.skiff(t, "ps", "--filter", "health=bogus"); r.code == 0 || !strings.Contains(r.stderr, "Unrecognised filter value for health: bogus") {
			t.Errorf("ps --filter health=bogus: %s", r)
		}
		if r := e.skiff(t, "run", "--rm", "--no-healthcheck", "--health-cmd", "true", "busybox", "true"); r.code == 0 || !strings.Contains(r.stderr, "--no-healthcheck conflicts with --health-* options") {
			t.Errorf("--no-healthcheck with --health-cmd: %s", r)
		}
	})
}
