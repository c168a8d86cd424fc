package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

func TestStartErrorCode(t *testing.T) {
	tests := []struct {
		msg  string
		want int
	}{
		{`Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown`, 127},
		{`... unable to start container process: exec: "/nope": stat /nope: no such file or directory: unknown`, 127},
		{`... unable to start container process: exec: "/etc/passwd": permission denied: unknown`, 126},
		{`... unable to start container process: exec: "/etc": is a directory: unknown`, 126},
		{`unable to find user mallory: no matching entries in passwd file`, 125},
		{`No such container: x`, 125},
		{``, 125},
	}
	for _, tt := range tests {
		if got := startErrorCode(errors.New(tt.msg)); got != tt.want {
			t.Errorf("startErrorCode(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	if err := exitCode(0); err != nil {
		t.Errorf("exitCode(0) = %v, want nil", err)
	}
	for _, code := range []int{1, 2, 125, 137, 255} {
		err := exitCode(code)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != code || se.Msg != "" {
			t.Errorf("exitCode(%d) = %#v, want a silent StatusError with that code", code, err)
		}
	}
}

func TestParseFilterFlags(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    client.Filters
		wantErr bool
	}{
		{name: "none", in: nil, want: client.Filters{}},
		{name: "one", in: []string{"status=exited"}, want: client.Filters{"status": {"exited": true}}},
		{
			name: "same key twice",
			in:   []string{"status=exited", "status=created"},
			want: client.Filters{"status": {"exited": true, "created": true}},
		},
		{
			name: "label with a value keeps everything after the first =",
			in:   []string{"label=a=b", "label=c"},
			want: client.Filters{"label": {"a=b": true, "c": true}},
		},
		{name: "key is lower-cased and trimmed", in: []string{" Status =exited"}, want: client.Filters{"status": {"exited": true}}},
		{name: "empty value", in: []string{"name="}, want: client.Filters{"name": {"": true}}},
		{name: "no =", in: []string{"exited"}, wantErr: true},
		{name: "a bad one among good ones", in: []string{"status=exited", "bad"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFilterFlags(tt.in)
			if tt.wantErr {
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("parseFilterFlags(%q) = %v, %v; want a *StatusError", tt.in, got, err)
				}
				if se.Code != 1 || se.Msg != "bad format of filter (expected name=value)" {
					t.Errorf("error = {%d %q}, want {1 %q}", se.Code, se.Msg, "bad format of filter (expected name=value)")
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFilterFlags(%q): %v", tt.in, err)
			}
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseFilterFlags(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPsRow(t *testing.T) {
	const id = "4f2c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b"
	const imgID = "sha256:deadbeef00112233445566778899aabbccddeeff00112233445566778899aabb"
	longCmd := "sh -c 'while true; do sleep 1; done'"
	summary := func(mod func(*container.Summary)) container.Summary {
		s := container.Summary{
			ID:      id,
			Names:   []string{"/web"},
			Image:   "busybox",
			Command: "echo hi",
			Created: time.Now().Add(-time.Hour).Unix(),
			Status:  "Up 2 seconds",
			State:   container.StateRunning,
			Labels:  map[string]string{"app": "web"},
		}
		s.HostConfig.NetworkMode = "bridge"
		if mod != nil {
			mod(&s)
		}
		return s
	}
	tests := []struct {
		name    string
		s       container.Summary
		noTrunc bool
		want    psRowData
	}{
		{
			name: "truncated",
			s:    summary(nil),
			want: psRowData{
				ID: "4f2c1a9b8e7d", Image: "busybox", Command: `"echo hi"`, CreatedSince: "About an hour ago",
				Status: "Up 2 seconds", Names: "web", State: "running", Labels: "app=web", Networks: "bridge",
			},
		},
		{
			name:    "no-trunc",
			s:       summary(func(s *container.Summary) { s.Command = longCmd }),
			noTrunc: true,
			want: psRowData{
				ID: id, Image: "busybox", Command: `"` + longCmd + `"`, CreatedSince: "About an hour ago",
				Status: "Up 2 seconds", Names: "web", State: "running", Labels: "app=web", Networks: "bridge",
			},
		},
		{
			name: "long command truncated",
			s:    summary(func(s *container.Summary) { s.Command = longCmd }),
			want: psRowData{
				ID: "4f2c1a9b8e7d", Image: "busybox", Command: `"sh -c 'while true; …"`, CreatedSince: "About an hour ago",
				Status: "Up 2 seconds", Names: "web", State: "running", Labels: "app=web", Networks: "bridge",
			},
		},
		{
			name: "image given by ID is shortened",
			s:    summary(func(s *container.Summary) { s.Image = imgID }),
			want: psRowData{
				ID: "4f2c1a9b8e7d", Image: "deadbeef0011", Command: `"echo hi"`, CreatedSince: "About an hour ago",
				Status: "Up 2 seconds", Names: "web", State: "running", Labels: "app=web", Networks: "bridge",
			},
		},
		{
			name:    "image given by ID, no-trunc",
			s:       summary(func(s *container.Summary) { s.Image = imgID }),
			noTrunc: true,
			want: psRowData{
				ID: id, Image: imgID, Command: `"echo hi"`, CreatedSince: "About an hour ago",
				Status: "Up 2 seconds", Names: "web", State: "running", Labels: "app=web", Networks: "bridge",
			},
		},
		{
			name: "several names, no labels, exited",
			s: summary(func(s *container.Summary) {
				s.Names = []string{"/a", "/b/c"}
				s.Labels = nil
				s.State = container.StateExited
				s.Status = "Exited (0) 3 seconds ago"
				s.Created = time.Now().Add(-5 * time.Second).Unix()
				s.HostConfig.NetworkMode = "none"
			}),
			want: psRowData{
				ID: "4f2c1a9b8e7d", Image: "busybox", Command: `"echo hi"`, CreatedSince: "5 seconds ago",
				Status: "Exited (0) 3 seconds ago", Names: "a,b/c", State: "exited", Networks: "none",
			},
		},
		{
			name: "published port",
			s: summary(func(s *container.Summary) {
				s.Ports = []container.PortSummary{{PublicPort: 8080, PrivatePort: 80, Type: "tcp"}}
			}),
			want: psRowData{
				ID: "4f2c1a9b8e7d", Image: "busybox", Command: `"echo hi"`, CreatedSince: "About an hour ago",
				Status: "Up 2 seconds", Ports: "0.0.0.0:8080->80/tcp", Names: "web", State: "running",
				Labels: "app=web", Networks: "bridge",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := psRow(tt.s, tt.noTrunc)
			if got != tt.want {
				t.Errorf("psRow =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestPsRowLabels(t *testing.T) {
	s := container.Summary{ID: "abc", Labels: map[string]string{"a": "1", "b": "2", "c": ""}}
	got := strings.Split(psRow(s, false).Labels, ",")
	want := map[string]bool{"a=1": true, "b=2": true, "c=": true}
	if len(got) != len(want) {
		t.Fatalf("Labels = %q, want the three of %v", got, want)
	}
	for _, l := range got {
		if !want[l] {
			t.Errorf("unexpected label %q in %q", l, got)
		}
	}
}

func TestAgo(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "Less than a second ago"},
		{30 * time.Second, "30 seconds ago"},
		{3 * time.Minute, "3 minutes ago"},
		{5 * time.Hour, "5 hours ago"},
		{3 * 24 * time.Hour, "3 days ago"},
	}
	for _, tt := range tests {
		if got := ago(time.Now().Add(-tt.d).Unix()); got != tt.want {
			t.Errorf("ago(now-%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
