package test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// unixArg is t as the --since/--until value the CLIs send.
func unixArg(t time.Time) string { return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()) }

// TestEvents: a container's life is in `events` in order with Docker's
// attributes, filters narrow it, the journal keeps it across an engine
// restart, a live subscriber sees new events, and the docker CLI reads
// the same stream.
func TestEvents(t *testing.T) {
	docker, err := lookDocker()
	if err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		e.cleanupContainer(t, "ev1")
		since := time.Now().Add(-time.Second)
		if r := e.skiff(t, "run", "--name", "ev1", "--label", "tier=web", "busybox", "sh", "-c", "exit 3"); r.code != 3 {
			t.Fatalf("run: %s", r)
		}
		e.mustSkiff(t, "rm", "ev1")
		until := time.Now().Add(time.Second)
		format := "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}} {{.Actor.Attributes.tier}}"
		query := func(extra ...string) []string {
			t.Helper()
			args := append([]string{"events", "--since", unixArg(since), "--until", unixArg(until), "--format", format}, extra...)
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(e.mustSkiff(t, args...)), "\n") {
				if strings.Contains(l, " ev1 ") {
					lines = append(lines, strings.TrimSpace(l))
				}
			}
			return lines
		}
		got := query("--filter", "type=container")
		// A missing attribute prints as "<no value>", as Go templates (and
		// the docker CLI) have it.
		want := []string{"container create ev1 <no value> web", "container attach ev1 <no value> web", "container start ev1 <no value> web", "container die ev1 3 web", "container destroy ev1 <no value> web"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("events of ev1:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if got := query("--filter", "event=die", "--filter", "container=ev1"); len(got) != 1 || got[0] != "container die ev1 3 web" {
			t.Errorf("event=die container=ev1: %q", got)
		}
		if got := query("--filter", "label=tier=db"); len(got) != 0 {
			t.Errorf("label=tier=db: %q", got)
		}
		// As Docker: a filter key it does not know filters nothing out.
		if got := query("--filter", "bogus=1"); len(got) != 5 {
			t.Errorf("a filter key events do not know: %q", got)
		}
		// Its network's connect and disconnect, as Docker publishes them
		// at start and stop.
		id := strings.TrimSpace(e.mustSkiff(t, "events", "--since", unixArg(since), "--until", unixArg(until),
			"--filter", "container=ev1", "--filter", "event=create", "--format", "{{.Actor.ID}}"))
		netEvents := e.mustSkiff(t, "events", "--since", unixArg(since), "--until", unixArg(until),
			"--filter", "type=network", "--format", "{{.Action}} {{.Actor.Attributes.container}}")
		for _, want := range []string{"connect " + id, "disconnect " + id} {
			if id == "" || !strings.Contains(netEvents, want+"\n") {
				t.Errorf("network events of ev1 (%s): no %q in\n%s", id, want, netEvents)
			}
		}
		// Networks, volumes and images.
		t0 := time.Now().Add(-time.Second)
		e.mustSkiff(t, "network", "create", "evnet")
		e.mustSkiff(t, "volume", "create", "evvol")
		e.mustSkiff(t, "network", "rm", "evnet")
		e.mustSkiff(t, "volume", "rm", "evvol")
		e.mustSkiff(t, "pull", busyboxRef)
		listed := e.mustSkiff(t, "events", "--since", unixArg(t0), "--until", unixArg(time.Now().Add(time.Second)),
			"--filter", "type=network", "--filter", "type=volume", "--filter", "type=image", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
		for _, want := range []string{"network create evnet", "volume create <no value>", "network destroy evnet", "volume destroy <no value>", "image pull "} {
			if !strings.Contains(listed, want) {
				t.Errorf("events of networks, volumes and images: no %q in\n%s", want, listed)
			}
		}
		// The docker CLI reads the same stream.
		d := e.dockerEnv()
		r := d.run(t, nil, docker, "events", "--since", unixArg(since), "--until", unixArg(until), "--filter", "container=ev1", "--filter", "event=die")
		if r.code != 0 || !strings.Contains(r.stdout, "container die ") || !strings.Contains(r.stdout, "exitCode=3") || !strings.Contains(r.stdout, "name=ev1") {
			t.Errorf("docker events: %s", r)
		}
		// Across an engine restart (skiff's journal; dockerd keeps its
		// events in memory).
		if e.target == "skiff" {
			e.restartEngine(t)
			if got := query("--filter", "event=destroy"); len(got) != 1 {
				t.Errorf("after an engine restart, destroy events of ev1: %q", got)
			}
		}
		// Live.
		e.cleanupContainer(t, "ev2")
		cmd := e.command(e.bin, "events", "--filter", "event=start", "--format", "{{.Actor.Attributes.name}}")
		var out lockedBuffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }() // it runs until killed
		time.Sleep(300 * time.Millisecond)                        // subscribed
		e.mustSkiff(t, "run", "--rm", "--name", "ev2", "busybox", "true")
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && !strings.Contains(out.String(), "ev2") {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(out.String(), "ev2") {
			t.Errorf("a live subscriber saw %q, want ev2's start", out.String())
		}
	})
}
