package events

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/skiff-dev/skiff/opts"
)

func msg(t events.Type, a events.Action, id string, attrs map[string]string) Message {
	return Message{Type: t, Action: a, Actor: events.Actor{ID: id, Attributes: attrs}}
}

// TestJournal: the kept events survive a reopen (an engine restart), a
// torn last line is skipped, and the journal stays bounded.
func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.json")
	b, err := Open(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if err := b.Publish(msg(events.ContainerEventType, events.ActionStart, strings.Repeat("a", i+1), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"Type":"container","Act`); err != nil { // a crash mid-write
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Open(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	hist, _, cancel := b.Subscribe()
	cancel()
	if len(hist) != 10 || hist[0].Actor.ID != strings.Repeat("a", 16) || hist[9].Actor.ID != strings.Repeat("a", 25) {
		t.Fatalf("after a reopen: %d events, first %q", len(hist), hist[0].Actor.ID)
	}
	if hist[9].TimeNano == 0 || hist[9].Scope != "local" {
		t.Errorf("an event has no time or scope: %+v", hist[9])
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n > 20 {
		t.Errorf("the journal holds %d lines, want at most 20", n)
	}
}

// TestSubscribe: history then live, without a gap.
func TestSubscribe(t *testing.T) {
	b, err := Open(filepath.Join(t.TempDir(), "events.json"), 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.Publish(msg(events.ImageEventType, events.ActionPull, "busybox:latest", nil)); err != nil {
		t.Fatal(err)
	}
	hist, live, cancel := b.Subscribe()
	defer cancel()
	if err := b.Publish(msg(events.ImageEventType, events.ActionTag, "x", nil)); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Action != events.ActionPull {
		t.Fatalf("history %+v", hist)
	}
	select {
	case m := <-live:
		if m.Action != events.ActionTag {
			t.Errorf("live %+v", m)
		}
	case <-time.After(time.Second):
		t.Fatal("no live event")
	}
}

func TestMatch(t *testing.T) {
	start := msg(events.ContainerEventType, events.ActionStart, "abc123", map[string]string{"name": "web", "image": "busybox", "tier": "front"})
	healthy := msg(events.ContainerEventType, "health_status: healthy", "abc123", map[string]string{"name": "web"})
	pull := msg(events.ImageEventType, events.ActionPull, "busybox:latest", map[string]string{"name": "busybox:latest"})
	net := msg(events.NetworkEventType, events.ActionConnect, "n1", map[string]string{"name": "front", "container": "abc123"})
	for _, tt := range []struct {
		f    string
		m    Message
		want bool
	}{
		{`{}`, start, true},
		{`{"type":["container"]}`, start, true},
		{`{"type":["image"]}`, start, false},
		{`{"type":["image","container"]}`, start, true},
		{`{"event":["start"]}`, start, true},
		{`{"event":["die"]}`, start, false},
		{`{"event":["health_status"]}`, healthy, true},
		{`{"container":["web"]}`, start, true},
		{`{"container":["abc"]}`, start, true},
		{`{"container":["db"]}`, start, false},
		{`{"container":["web"]}`, pull, false},
		{`{"image":["busybox"]}`, start, true},
		{`{"image":["busybox:latest"]}`, pull, true},
		{`{"label":["tier=front"]}`, start, true},
		{`{"label":["tier=back"]}`, start, false},
		{`{"network":["front"]}`, net, true},
		{`{"network":["front"]}`, start, false},
		{`{"type":["container"],"event":["start"],"container":["web"]}`, start, true},
		{`{"type":["container"],"event":["stop"],"container":["web"]}`, start, false},
	} {
		f, err := opts.ParseFilters(tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := Match(f, tt.m); got != tt.want {
			t.Errorf("Match(%s, %s %s) = %v, want %v", tt.f, tt.m.Type, tt.m.Action, got, tt.want)
		}
	}
}
