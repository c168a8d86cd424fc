package test

import (
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEngineKillKeepsContainers kills the engine with SIGKILL while three
// containers run (one logging continuously): after a new engine starts,
// all three still run, no log line is lost, and stop, attach and exec work.
func TestEngineKillKeepsContainers(t *testing.T) {
	skiffOnly(t, "containers that outlive skiff's engine through their monitors")
	for _, mode := range strings.Split(*modes, ",") {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, "SKIFF_TEST_ENV=survive")
			t.Cleanup(func() {
				e.shutdown()
				delete(allEnvs, mode+"SKIFF_TEST_ENV=survive")
			})
			e.mustSkiff(t, "run", "-d", "--name", "logger", "busybox", "sh", "-c",
				"i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo line$i; sleep 0.01; done")
			e.mustSkiff(t, "run", "-d", "--name", "sleeper", "busybox", "sleep", "300")
			e.mustSkiff(t, "run", "-d", "-u", "1000", "--name", "nonroot", "busybox", "sleep", "300")
			time.Sleep(500 * time.Millisecond)
			pid := e.enginePID()
			if pid == 0 {
				t.Fatal("no engine pid")
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // the logger keeps writing meanwhile
			out := e.mustSkiff(t, "ps", "--format", "{{.Names}} {{.State}}")
			for _, n := range []string{"logger", "sleeper", "nonroot"} {
				contains(t, "ps after the engine was killed", out, n+" running")
			}
			if newPid := e.enginePID(); newPid == pid || newPid == 0 {
				t.Fatalf("no new engine (pid %d)", newPid)
			}
			// exec and attach reach the containers through their monitors.
			if out := e.mustSkiff(t, "exec", "sleeper", "echo", "still here"); out != "still here\n" {
				t.Errorf("exec after restart: %q", out)
			}
			r := e.skiff(t, "exec", "nonroot", "id", "-u")
			if r.code != 0 || r.stdout != "1000\n" {
				t.Errorf("exec in the non-root container: %s", r)
			}
			var wg sync.WaitGroup
			var att result
			wg.Add(1)
			go func() {
				defer wg.Done()
				att = e.skiff(t, "attach", "--no-stdin", "logger")
			}()
			time.Sleep(700 * time.Millisecond)
			e.mustSkiff(t, "stop", "-t", "1", "logger")
			wg.Wait()
			if !strings.Contains(att.stdout, "line") {
				t.Errorf("attach after restart showed no output: %s", att)
			}
			// No line lost: the log holds line1..lineN without a gap.
			logs := strings.Fields(e.mustSkiff(t, "logs", "logger"))
			for i, l := range logs {
				if l != "line"+strconv.Itoa(i+1) {
					t.Fatalf("log line %d is %q (of %d lines)", i+1, l, len(logs))
				}
			}
			if len(logs) < 50 {
				t.Errorf("only %d log lines", len(logs))
			}
			// stop works on a container of the old engine, even one running
			// as another user (rootless: another uid of the subuid range).
			for _, n := range []string{"sleeper", "nonroot"} {
				e.mustSkiff(t, "stop", "-t", "1", n)
				if out := e.mustSkiff(t, "inspect", "-f", "{{.State.Status}}", n); out != "exited\n" {
					t.Errorf("%s after stop: %q", n, out)
				}
			}
			e.mustSkiff(t, "rm", "logger", "sleeper", "nonroot")
		})
	}
}
