package engine

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

func TestStatusText(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		rec  record
		want string
	}{
		{"created", record{State: state{Status: container.StateCreated}}, "Created"},
		{"zero state", record{}, "Created"},
		{"running for minutes", record{State: state{Status: container.StateRunning, StartedAt: now.Add(-5 * time.Minute)}}, "Up 5 minutes"},
		{"running for seconds", record{State: state{Status: container.StateRunning, StartedAt: now.Add(-10*time.Second - 100*time.Millisecond)}}, "Up 10 seconds"},
		{"just started", record{State: state{Status: container.StateRunning, StartedAt: now}}, "Up Less than a second"},
		{"running for hours", record{State: state{Status: container.StateRunning, StartedAt: now.Add(-3 * time.Hour)}}, "Up 3 hours"},
		{
			"exited with a time",
			record{State: state{Status: container.StateExited, ExitCode: 137, FinishedAt: now.Add(-2 * time.Hour)}},
			"Exited (137) 2 hours ago",
		},
		{
			"exited 0 a minute ago",
			record{State: state{Status: container.StateExited, ExitCode: 0, FinishedAt: now.Add(-61 * time.Second)}},
			"Exited (0) About a minute ago",
		},
		{"exited without a time", record{State: state{Status: container.StateExited, ExitCode: 3}}, "Exited (3)"},
		{
			"removal wins over running",
			record{RemovalInProgress: true, State: state{Status: container.StateRunning, StartedAt: now}},
			"Removal In Progress",
		},
		{"removal of an exited one", record{RemovalInProgress: true, State: state{Status: container.StateExited}}, "Removal In Progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ctr{rec: tt.rec}
			if got := statusText(c); got != tt.want {
				t.Errorf("statusText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatchContainer(t *testing.T) {
	const id = "4f2c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b"
	const imageID = "sha256:deadbeef00112233445566778899aabbccddeeff00112233445566778899aabb"
	c := &ctr{rec: record{
		ID:        id,
		Name:      "/web-1",
		Image:     imageID,
		ImageName: "busybox",
		Config:    &container.Config{Labels: map[string]string{"app": "web", "tier": "", "env": "a=b"}},
		State:     state{Status: container.StateExited},
	}}
	tests := []struct {
		name string
		f    map[string][]string
		want bool
	}{
		{"no filters", map[string][]string{}, true},
		{"nil filters", nil, true},
		{"status", map[string][]string{"status": {"exited"}}, true},
		{"other status", map[string][]string{"status": {"running"}}, false},
		{"any of several statuses", map[string][]string{"status": {"running", "exited"}}, true},
		{"name", map[string][]string{"name": {"web-1"}}, true},
		{"name with slash", map[string][]string{"name": {"/web-1"}}, true},
		{"name substring", map[string][]string{"name": {"web"}}, true},
		{"other name", map[string][]string{"name": {"db"}}, false},
		{"id prefix", map[string][]string{"id": {"4f2c1a"}}, true},
		{"full id", map[string][]string{"id": {id}}, true},
		{"id not a prefix", map[string][]string{"id": {"2c1a9b"}}, false},
		{"label key", map[string][]string{"label": {"app"}}, true},
		{"label key=value", map[string][]string{"label": {"app=web"}}, true},
		{"label wrong value", map[string][]string{"label": {"app=db"}}, false},
		{"label empty value", map[string][]string{"label": {"tier="}}, true},
		{"label key present with empty value", map[string][]string{"label": {"tier"}}, true},
		{"label value containing =", map[string][]string{"label": {"env=a=b"}}, true},
		{"missing label", map[string][]string{"label": {"missing"}}, false},
		{"ancestor by name as given", map[string][]string{"ancestor": {"busybox"}}, true},
		{"ancestor by full image id", map[string][]string{"ancestor": {imageID}}, true},
		{"ancestor by image id without prefix", map[string][]string{"ancestor": {strings.TrimPrefix(imageID, "sha256:")}}, true},
		{"ancestor by prefixed short id", map[string][]string{"ancestor": {"sha256:deadbeef"}}, true},
		{"other ancestor", map[string][]string{"ancestor": {"alpine"}}, false},
		{"all keys match", map[string][]string{"status": {"exited"}, "name": {"web"}, "label": {"app=web"}, "id": {"4f2c"}}, true},
		{"keys are ANDed", map[string][]string{"status": {"exited"}, "name": {"db"}}, false},
		{"unknown keys are ignored", map[string][]string{"no-such-filter": {"x"}}, true},
		{"every label must match", map[string][]string{"label": {"app=web", "app=db"}}, false},
		{"every label key must exist", map[string][]string{"label": {"app", "missing"}}, false},
		{"two matching labels", map[string][]string{"label": {"app=web", "tier"}}, true},
		{"name regexp", map[string][]string{"name": {"^web-1$"}}, true},
		{"name regexp no match", map[string][]string{"name": {"^web$"}}, false},
	}
	// The engine resolves ancestor references to image IDs first; this
	// stands in for the image store.
	resolve := func(f map[string][]string) map[string]bool {
		out := map[string]bool{}
		for _, v := range f["ancestor"] {
			if strings.HasPrefix(imageID, v) || strings.HasPrefix(imageID, "sha256:"+v) {
				out[imageID] = true
			}
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchContainer(c, tt.f, resolve(tt.f)); got != tt.want {
				t.Errorf("matchContainer(%v) = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
}

func TestMatchContainerNoLabels(t *testing.T) {
	c := &ctr{rec: record{ID: "abc", Name: "/x", Config: &container.Config{}}}
	if matchContainer(c, map[string][]string{"label": {"a"}}, nil) {
		t.Error("a container without labels matched label=a")
	}
	if !matchContainer(c, map[string][]string{"id": {"ab"}}, nil) {
		t.Error("id=ab did not match abc")
	}
}

func TestNetworkMode(t *testing.T) {
	tests := []struct {
		mode container.NetworkMode
		want string
	}{
		{"", "bridge"},
		{"default", "bridge"},
		{"host", "host"},
		{"none", "none"},
	}
	for _, tt := range tests {
		if got := modeOf(&container.HostConfig{NetworkMode: tt.mode}); got != tt.want {
			t.Errorf("modeOf(%q) = %q, want %q", tt.mode, got, tt.want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, "0001-01-01T00:00:00Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC), "2024-01-02T03:04:05.0000006Z"},
		{time.Date(2024, 1, 2, 5, 4, 5, 0, time.FixedZone("X", 2*3600)), "2024-01-02T03:04:05Z"},
	}
	for _, tt := range tests {
		if got := formatTime(tt.in); got != tt.want {
			t.Errorf("formatTime(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseKillSignal(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
		err  string
	}{
		{"", syscall.SIGKILL, ""},
		{"TERM", syscall.SIGTERM, ""},
		{"SIGUSR1", syscall.SIGUSR1, ""},
		{"9", syscall.SIGKILL, ""},
		{"64", 64, ""},
		// Docker's messages (moby daemon/kill.go, moby/sys/signal).
		{"999", 0, "the linux daemon does not support signal 999"},
		{"-1", 0, "the linux daemon does not support signal -1"},
		{"0", 0, "invalid signal: 0"},
		{"FOO", 0, "invalid signal: FOO"},
	}
	for _, tt := range tests {
		got, err := parseKillSignal(tt.in)
		if msg := errString(err); msg != tt.err || got != tt.want {
			t.Errorf("%q: %d %q, want %d %q", tt.in, got, msg, tt.want, tt.err)
		}
		if err != nil && statusOf(err) != 400 {
			t.Errorf("%q: status %d, want 400", tt.in, statusOf(err))
		}
	}
}
