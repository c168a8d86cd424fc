package fluentdtest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/logs"
	"github.com/skiff-dev/skiff/logs/fluentd"
	"github.com/skiff-dev/skiff/logs/logdriver"
	"github.com/skiff-dev/skiff/logs/logstest"
)

// receiverBin is the receiver program, built by TestMain.
var receiverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fluentdtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	receiverBin = filepath.Join(dir, "receiver")
	build := exec.Command("go", "build", "-o", receiverBin, "./receiver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the receiver:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// receiver is a running fluentforward receiver and what it has received.
type receiver struct {
	addr string // host:port, or unix:///path
	mu   sync.Mutex
	recs []record
}

// record is one received event: the tag, the time, the "log" field (the
// receiver's body) and the other fields (its attributes).
type record struct {
	Tag    string            `json:"tag"`
	Time   time.Time         `json:"time"`
	Log    string            `json:"log"`
	Fields map[string]string `json:"fields"`
}

// startReceiver starts the collector's fluentforward receiver (the
// receiver program) on a free port of 127.0.0.1 or on a unix socket, and
// returns once it listens. t.Cleanup stops it.
func startReceiver(t *testing.T, unix bool) *receiver {
	t.Helper()
	var args []string
	if unix {
		args = []string{"-unix", filepath.Join(t.TempDir(), "fluent.sock")}
	}
	cmd := exec.Command(receiverBin, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	br := bufio.NewReader(out)
	first, err := br.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(first), "LISTENING ")
	if err != nil || !ok {
		t.Fatalf("receiver said %q, %v", first, err)
	}
	r := &receiver{addr: addr}
	go func() {
		for {
			line, err := br.ReadBytes('\n')
			if err != nil {
				return
			}
			var rec record
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Errorf("receiver printed %q: %v", line, err)
				return
			}
			r.mu.Lock()
			r.recs = append(r.recs, rec)
			r.mu.Unlock()
		}
	}()
	return r
}

// records returns the events received with container_id id, waiting (at
// most 10 s) until there are want of them.
func (r *receiver) records(t *testing.T, id string, want int) []record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out []record
		r.mu.Lock()
		for _, rec := range r.recs {
			if rec.Fields["container_id"] == id {
				out = append(out, rec)
			}
		}
		r.mu.Unlock()
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestRecords(t *testing.T) {
	tcp := startReceiver(t, false)
	unix := startReceiver(t, true)
	at := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		r    *receiver
		opts map[string]string
		tag  string // NAME and ID are filled in
		// precise: the record time keeps nanoseconds.
		precise bool
	}{
		{"host:port", tcp, map[string]string{"fluentd-address": tcp.addr}, "ID", false},
		{"tcp://", tcp, map[string]string{"fluentd-address": "tcp://" + tcp.addr}, "ID", false},
		{"unix://", unix, map[string]string{"fluentd-address": unix.addr}, "ID", false},
		{"tag template", tcp, map[string]string{"fluentd-address": tcp.addr, "tag": "docker.{{.Name}}.{{.ImageName}}"}, "docker.NAME.busybox", false},
		{"sub-second precision", tcp, map[string]string{"fluentd-address": tcp.addr, "fluentd-sub-second-precision": "true"}, "ID", true},
		{"request ack", tcp, map[string]string{"fluentd-address": tcp.addr, "fluentd-request-ack": "true"}, "ID", false},
		{"retry options", tcp, map[string]string{"fluentd-address": tcp.addr, "fluentd-retry-wait": "100ms", "fluentd-max-retries": "3", "fluentd-buffer-limit": "1m"}, "ID", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := logstest.NewInfo(t)
			info.ContainerName = "/web"
			for k, v := range tt.opts {
				info.Config[k] = v
			}
			d, err := fluentd.New(info)
			if err != nil {
				t.Fatal(err)
			}
			msgs := []logdriver.Message{
				{Line: []byte("hello ☃"), Source: "stdout", Timestamp: at},
				{Line: []byte("oops"), Source: "stderr", Timestamp: at.Add(time.Second)},
			}
			for i := range msgs {
				if err := d.Log(&msgs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			got := tt.r.records(t, info.ContainerID, len(msgs))
			if len(got) != len(msgs) {
				t.Fatalf("received %d records, want %d", len(got), len(msgs))
			}
			tag := strings.NewReplacer("NAME", "web", "ID", info.ID()).Replace(tt.tag)
			for i, m := range msgs {
				rec := got[i]
				if rec.Tag != tag {
					t.Errorf("tag %q, want %q", rec.Tag, tag)
				}
				want := map[string]string{"container_id": info.ContainerID, "container_name": "/web", "source": m.Source}
				if fmt.Sprint(rec.Fields) != fmt.Sprint(want) {
					t.Errorf("fields %v, want %v", rec.Fields, want)
				}
				if rec.Log != string(m.Line) {
					t.Errorf("log %q, want %q", rec.Log, m.Line)
				}
				wantTime := m.Timestamp.Truncate(time.Second)
				if tt.precise {
					wantTime = m.Timestamp
				}
				if !rec.Time.Equal(wantTime) {
					t.Errorf("time %v, want %v", rec.Time, wantTime)
				}
			}
		})
	}
}

func TestAsync(t *testing.T) {
	r := startReceiver(t, false)
	info := logstest.NewInfo(t)
	info.Config["fluentd-address"] = r.addr
	info.Config["fluentd-async"] = "true"
	d, err := fluentd.New(info)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		d.Log(&logdriver.Message{Line: []byte(fmt.Sprint("async ", i)), Source: "stdout", Timestamp: time.Now()})
	}
	// Close drops what is still queued in async mode, as Docker's does:
	// wait for the records first.
	got := r.records(t, info.ContainerID, 100)
	d.Close()
	if len(got) != 100 {
		t.Fatalf("received %d records, want 100", len(got))
	}
	for i, rec := range got {
		if rec.Log != fmt.Sprint("async ", i) {
			t.Fatalf("record %d: %q", i, rec.Log)
		}
	}
}

// TestAsyncUnreachable: with fluentd-async, New does not dial, so an
// unreachable address does not fail the start.
func TestAsyncUnreachable(t *testing.T) {
	info := logstest.NewInfo(t)
	info.Config["fluentd-address"] = freePort(t)
	info.Config["fluentd-async"] = "true"
	d, err := fluentd.New(info)
	if err != nil {
		t.Fatalf("New in async mode: %v", err)
	}
	d.Close()
	info.Config["fluentd-async"] = "false"
	if _, err := fluentd.New(info); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("New with nothing listening = %v", err)
	}
}

func TestPartialAndExtra(t *testing.T) {
	r := startReceiver(t, false)
	info := logstest.NewInfo(t)
	info.Config["fluentd-address"] = r.addr
	info.Config["labels"] = "app"
	info.Config["env"] = "STAGE"
	info.ContainerLabels = map[string]string{"app": "shop"}
	info.ContainerEnv = []string{"STAGE=prod", "SECRET=x"}
	w, err := logs.Open("fluentd", info)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("z", logdriver.DefaultBufSize+10)
	w.Write("stdout", []byte(long+"\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := r.records(t, info.ContainerID, 2)
	if len(got) != 2 {
		t.Fatalf("received %d records, want 2", len(got))
	}
	id := got[0].Fields["partial_id"]
	for i, want := range []map[string]string{
		{"partial_message": "true", "partial_ordinal": "1", "partial_last": "false", "app": "shop", "STAGE": "prod"},
		{"partial_message": "true", "partial_ordinal": "2", "partial_last": "true", "app": "shop", "STAGE": "prod"},
	} {
		for k, v := range want {
			if got[i].Fields[k] != v {
				t.Errorf("record %d: %s = %q, want %q (fields %v)", i, k, got[i].Fields[k], v, got[i].Fields)
			}
		}
		if got[i].Fields["partial_id"] != id || len(id) != 64 {
			t.Errorf("record %d: partial_id %q, want the same 64-hex id", i, got[i].Fields["partial_id"])
		}
		if _, ok := got[i].Fields["SECRET"]; ok {
			t.Errorf("record %d has SECRET", i)
		}
	}
	if got[0].Log+got[1].Log != long {
		t.Errorf("pieces do not make the line: %d + %d bytes", len(got[0].Log), len(got[1].Log))
	}
}

// TestConformance runs the drivers' shared suite against the receiver.
func TestConformance(t *testing.T) {
	r := startReceiver(t, false)
	logstest.Run(t, logstest.Harness{
		Start: func(t *testing.T, info logdriver.Info) (logdriver.Driver, error) {
			info.Config["fluentd-address"] = r.addr
			return fluentd.New(info)
		},
		Received: func(t *testing.T, info logdriver.Info, want int) []logstest.Received {
			var out []logstest.Received
			for _, rec := range r.records(t, info.ContainerID, want) {
				if rec.Tag != info.ID() || rec.Fields["container_name"] != info.ContainerName {
					t.Errorf("record tagged %q for %q", rec.Tag, rec.Fields["container_name"])
				}
				partial := rec.Fields["partial_message"] == "true" && rec.Fields["partial_last"] != "true"
				out = append(out, logstest.Received{Source: rec.Fields["source"], Line: rec.Log, Partial: partial})
			}
			return out
		},
	})
}

// TestDualLogging: fluentd through logs.Open keeps the local cache.
func TestDualLogging(t *testing.T) {
	r := startReceiver(t, false)
	info := logstest.NewInfo(t)
	info.Config["fluentd-address"] = r.addr
	w, err := logs.Open("fluentd", info)
	if err != nil {
		t.Fatal(err)
	}
	w.Write("stdout", []byte("to both\n"))
	w.Close()
	if got := r.records(t, info.ContainerID, 1); len(got) != 1 || got[0].Log != "to both" {
		t.Fatalf("received %+v", got)
	}
	path, err := logs.ReadPath("fluentd", info.Config, filepath.Dir(info.LogPath), info.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := logs.Read(path, logs.ReadOptions{Tail: -1})
	if err != nil || len(ents) != 1 || ents[0].Log != "to both\n" {
		t.Fatalf("cache %+v, %v", ents, err)
	}
}
