package logs_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/logs"
	"github.com/skiff-dev/skiff/logs/logstest"
)

func TestValidateOptions(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log.sock")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		driver string
		opts   map[string]string
		err    string // "" valid
	}{
		{"json-file", nil, ""},
		{"", map[string]string{"max-size": "1m"}, ""},
		{"", map[string]string{"foo": "1"}, "unknown log opt 'foo' for json-file log driver"},
		{"json-file", map[string]string{"max-size": "10m", "max-file": "3", "compress": "true", "tag": "{{.Name}}"}, ""},
		{"json-file", map[string]string{"foo": "bar"}, "unknown log opt 'foo' for json-file log driver"},
		{"json-file", map[string]string{"max-size": "lots"}, "invalid size: 'lots'"},
		{"json-file", map[string]string{"syslog-address": "udp://1.2.3.4"}, "unknown log opt 'syslog-address' for json-file log driver"},
		{"local", map[string]string{"max-size": "1m"}, ""},
		{"local", map[string]string{"foo": "1"}, "unknown log opt 'foo' for local log driver"},
		{"foo", nil, "logger: no log driver named 'foo' is registered"},
		{"none", map[string]string{"anything": "goes"}, ""},
		{"json-file", map[string]string{"mode": "non-blocking", "max-buffer-size": "4m"}, ""},
		{"json-file", map[string]string{"mode": "fast"}, "logger: logging mode not supported: fast"},
		{"json-file", map[string]string{"max-buffer-size": "4m"}, "logger: max-buffer-size option is only supported with 'mode=non-blocking'"},
		{"json-file", map[string]string{"mode": "non-blocking", "max-buffer-size": "x"}, "error parsing option max-buffer-size: invalid size: 'x'"},
		{"json-file", map[string]string{"cache-disabled": "yes please"}, "invalid value for option cache-disabled: yes please"},
		{"syslog", map[string]string{"syslog-address": "udp://127.0.0.1:514", "syslog-facility": "local3", "syslog-format": "rfc5424micro", "cache-max-size": "1m"}, ""},
		{"syslog", map[string]string{"syslog-address": "unix://" + sock}, ""},
		{"syslog", map[string]string{"syslog-address": "unix:///nonexistent/log.sock"}, "stat /nonexistent/log.sock: no such file or directory"},
		{"syslog", map[string]string{"syslog-address": "http://x"}, "unsupported scheme: 'http'"},
		{"syslog", map[string]string{"syslog-facility": "nope"}, "invalid syslog facility"},
		{"syslog", map[string]string{"syslog-format": "json"}, "Invalid syslog format"},
		{"syslog", map[string]string{"max-size": "1m"}, "unknown log opt 'max-size' for syslog log driver"},
		{"syslog", map[string]string{"cache-max-file": "x"}, `invalid value for max-file: x: strconv.Atoi: parsing "x": invalid syntax`},
		{"fluentd", map[string]string{"fluentd-address": "127.0.0.1:24224", "fluentd-async": "true", "fluentd-buffer-limit": "8m", "fluentd-retry-wait": "1s", "fluentd-max-retries": "3", "fluentd-sub-second-precision": "true", "fluentd-request-ack": "true", "tag": "docker.{{.Name}}"}, ""},
		{"fluentd", map[string]string{"fluentd-address": "unix:///run/fluent.sock"}, ""},
		{"fluentd", map[string]string{"fluentd-address": "udp://x:1"}, "invalid fluentd-address (udp://x:1): unsupported scheme: 'udp'"},
		{"fluentd", map[string]string{"fluentd-async": "sometimes"}, `strconv.ParseBool: parsing "sometimes": invalid syntax`},
		{"fluentd", map[string]string{"fluentd-foo": "1"}, "unknown log opt 'fluentd-foo' for fluentd log driver"},
		{"awslogs", map[string]string{"awslogs-group": "g", "awslogs-region": "us-east-1", "awslogs-create-group": "true", "awslogs-endpoint": "http://127.0.0.1:1"}, ""},
		{"awslogs", map[string]string{"awslogs-region": "us-east-1"}, "must specify a value for log opt 'awslogs-group'"},
		{"awslogs", map[string]string{"awslogs-group": "g", "env": "A"}, "unknown log opt 'env' for awslogs log driver"},
		{"awslogs", map[string]string{"awslogs-group": "g", "awslogs-datetime-format": "%Y", "awslogs-multiline-pattern": "^x"}, "you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.driver, tt.opts), func(t *testing.T) {
			err := logs.ValidateOptions(tt.driver, tt.opts)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("ValidateOptions: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.err {
				t.Fatalf("ValidateOptions = %v, want %q", err, tt.err)
			}
			if !errors.Is(err, logs.ErrInvalidConfig) {
				t.Errorf("%v does not match ErrInvalidConfig", err)
			}
		})
	}
}

func TestReadPath(t *testing.T) {
	dir, id := "/d", "abc"
	tests := []struct {
		driver string
		opts   map[string]string
		want   string // "" ErrReadNotSupported
	}{
		{"", nil, "/d/abc-json.log"},
		{"json-file", nil, "/d/abc-json.log"},
		{"local", nil, "/d/local-logs/container.log"},
		{"syslog", nil, "/d/container-cached.log"},
		{"fluentd", map[string]string{"cache-disabled": "false"}, "/d/container-cached.log"},
		{"awslogs", map[string]string{"cache-disabled": "true"}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		got, err := logs.ReadPath(tt.driver, tt.opts, dir, id)
		if tt.want == "" {
			if !errors.Is(err, logs.ErrReadNotSupported) {
				t.Errorf("ReadPath(%s, %v) = %q, %v; want ErrReadNotSupported", tt.driver, tt.opts, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ReadPath(%s, %v) = %q, %v; want %q", tt.driver, tt.opts, got, err, tt.want)
		}
	}
	if err := logs.ErrReadNotSupported.Error(); err != "configured logging driver does not support reading" {
		t.Errorf("ErrReadNotSupported reads %q", err)
	}
}

// udpSink is a UDP socket on 127.0.0.1 that counts what it receives: a
// syslog server that accepts anything.
func udpSink(t *testing.T) (addr string, count func() int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	n := 0
	go func() {
		buf := make([]byte, 64*1024)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
		}
	}()
	return pc.LocalAddr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// TestDualLogging: a remote driver writes the local cache too, and `logs`
// reads it at ReadPath.
func TestDualLogging(t *testing.T) {
	addr, received := udpSink(t)
	info := logstest.NewInfo(t)
	dir := filepath.Dir(info.LogPath)
	info.Config = map[string]string{"syslog-address": "udp://" + addr, "cache-max-size": "1k", "cache-max-file": "3"}
	w, err := logs.Open("syslog", info)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := w.Write("stdout", []byte(fmt.Sprintf("line %d\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write("stderr", []byte("last\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path, err := logs.ReadPath("syslog", info.Config, dir, info.ContainerID)
	if err != nil || path != logs.CachePath(dir) {
		t.Fatalf("ReadPath = %q, %v", path, err)
	}
	ents, err := logs.Read(path, logs.ReadOptions{Tail: 5})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Stream+" "+e.Log)
	}
	want := "stdout line 96\n|stdout line 97\n|stdout line 98\n|stdout line 99\n|stderr last\n"
	if strings.Join(got, "|") != want {
		t.Errorf("cache tail = %q, want %q", strings.Join(got, "|"), want)
	}
	// Rotated by the cache options, compressed by default.
	if _, err := os.Stat(path + ".1.gz"); err != nil {
		t.Errorf("no rotated, compressed cache file: %v", err)
	}
	if _, err := os.Stat(path + ".3.gz"); err == nil {
		t.Errorf("cache-max-file=3 kept a fourth file")
	}
	if _, err := os.Stat(info.LogPath); err == nil {
		t.Errorf("a json-file log was written for a syslog container")
	}
	deadline := time.Now().Add(5 * time.Second)
	for received() < 101 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := received(); n != 101 {
		t.Errorf("syslog server got %d messages, want 101", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	addr, _ := udpSink(t)
	info := logstest.NewInfo(t)
	info.Config = map[string]string{"syslog-address": "udp://" + addr, "cache-disabled": "true"}
	w, err := logs.Open("syslog", info)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stdout", []byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ents, _ := os.ReadDir(filepath.Dir(info.LogPath))
	if len(ents) != 0 {
		t.Errorf("files written with cache-disabled: %v", ents)
	}
}

func TestNewErrors(t *testing.T) {
	// A port nothing listens on: bind one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	tests := []struct {
		driver string
		opts   map[string]string
		err    string
	}{
		{"syslog", map[string]string{"syslog-address": "tcp://" + closed}, "failed to initialize logging driver: dial tcp " + closed + ": connect: connection refused"},
		{"fluentd", map[string]string{"fluentd-address": closed}, "failed to initialize logging driver: dial tcp " + closed + ": connect: connection refused"},
		{"json-file", map[string]string{"max-file": "0"}, "failed to initialize logging driver: max-file cannot be less than 1"},
		{"nope", nil, "failed to initialize logging driver: logger: no log driver named 'nope' is registered"},
	}
	for _, tt := range tests {
		t.Run(tt.driver, func(t *testing.T) {
			info := logstest.NewInfo(t)
			info.Config = tt.opts
			d, err := logs.New(tt.driver, info)
			if err == nil {
				d.Close()
				t.Fatal("New succeeded")
			}
			if err.Error() != tt.err {
				t.Fatalf("New = %q, want %q", err, tt.err)
			}
			if ents, _ := os.ReadDir(filepath.Dir(info.LogPath)); len(ents) != 0 {
				t.Errorf("files left behind: %v", ents)
			}
		})
	}
}

func TestLocalDriver(t *testing.T) {
	info := logstest.NewInfo(t)
	w, err := logs.Open("local", info)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stdout", []byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	dir := filepath.Dir(info.LogPath)
	path, err := logs.ReadPath("local", nil, dir, info.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := logs.Read(path, logs.ReadOptions{Tail: -1})
	if err != nil || len(ents) != 1 || ents[0].Log != "hi\n" {
		t.Fatalf("local log %+v, %v", ents, err)
	}
}

// slowDriver blocks every Log until release is closed, and counts.
type slowDriver struct {
	release chan struct{}
	mu      sync.Mutex
	lines   []string
}

func (d *slowDriver) Log(m *logs.Message) error {
	<-d.release
	d.mu.Lock()
	d.lines = append(d.lines, string(m.Line))
	d.mu.Unlock()
	return nil
}
func (d *slowDriver) Name() string { return "slow" }
func (d *slowDriver) Close() error { return nil }

func TestNonBlockingDropsWhenFull(t *testing.T) {
	info := logstest.NewInfo(t)
	info.Config = map[string]string{"mode": "non-blocking", "max-buffer-size": "100"}
	// New with json-file works; for the ring itself use a driver that
	// stalls.
	d, err := logs.New("json-file", info)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	slow := &slowDriver{release: make(chan struct{})}
	ring := logs.NonBlocking(slow, 100)
	for i := 0; i < 50; i++ {
		if err := ring.Log(&logs.Message{Line: []byte(fmt.Sprintf("line %02d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	close(slow.release)
	ring.Close()
	// 100 bytes hold 14 lines of 7, those queued and those being sent.
	if n := len(slow.lines); n != 14 {
		t.Errorf("%d lines got through a 100-byte buffer, want 14", n)
	}
	if slow.lines[0] != "line 00" {
		t.Errorf("first line %q", slow.lines[0])
	}
}

// failingDriver refuses every message.
type failingDriver struct{}

var errRefused = errors.New("refused")

func (failingDriver) Log(*logs.Message) error { return errRefused }
func (failingDriver) Name() string            { return "failing" }
func (failingDriver) Close() error            { return nil }

// What the driver refused in the background is not lost: Close says so.
func TestNonBlockingCloseReportsDriverErrors(t *testing.T) {
	ring := logs.NonBlocking(failingDriver{}, -1)
	if err := ring.Log(&logs.Message{Line: []byte("x")}); err != nil {
		t.Fatalf("Log = %v, want nil (the driver is called later)", err)
	}
	if err := ring.Close(); !errors.Is(err, errRefused) {
		t.Errorf("Close = %v, want %v", err, errRefused)
	}
}
