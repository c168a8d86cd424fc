package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// dirNames lists dir, hidden files included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteReadJSONRoundTrip(t *testing.T) {
	full := Spec{
		ID:        "0123456789ab",
		Rootfs:    "/var/lib/skiff/storage/overlay/x/merged",
		Args:      []string{"sh", "-c", "echo \"hi\" > /dev/null"},
		Env:       []string{"PATH=/bin", "A=b=c"},
		Cwd:       "/work",
		User:      "1000:1000",
		Hostname:  "0123456789ab",
		Tty:       true,
		OpenStdin: true,
		StdinOnce: true,
		NetNS:     "/proc/1/ns/net",
		NewNetNS:  true,
		Mounts: []Mount{
			{Source: "/host/resolv.conf", Destination: "/etc/resolv.conf"},
			{Source: "/data", Destination: "/data", ReadOnly: true},
		},
		ReadonlyRootfs: true,
		ShmSize:        64 << 20,
		LogPath:        "/var/lib/skiff/containers/x/x-json.log",
	}
	tests := []struct {
		name string
		in   any
		out  func() any // a pointer to a fresh value of the same type
	}{
		{"full spec", full, func() any { return new(Spec) }},
		{"empty spec", Spec{}, func() any { return new(Spec) }},
		{"exit", Exit{Code: 137, FinishedAt: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), OOMKilled: true, Error: "boom"}, func() any { return new(Exit) }},
		{"map", map[string]int{"a": 1}, func() any { return new(map[string]int) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "spec.json")
			if err := WriteJSON(path, tt.in); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"spec.json"}) {
				t.Errorf("directory after WriteJSON = %q, want only spec.json", names)
			}
			got := tt.out()
			if err := ReadJSON(path, got); err != nil {
				t.Fatalf("ReadJSON: %v", err)
			}
			if v := reflect.ValueOf(got).Elem().Interface(); !reflect.DeepEqual(v, tt.in) {
				t.Errorf("round trip = %+v, want %+v", v, tt.in)
			}
		})
	}
}

func TestWriteJSONReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "exit.json")
	for _, code := range []int{1, 2, 3} {
		if err := WriteJSON(path, Exit{Code: code}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := ReadExit(dir)
	if err != nil {
		t.Fatalf("ReadExit: %v", err)
	}
	if e.Code != 3 {
		t.Errorf("ReadExit().Code = %d, want 3 (the last write)", e.Code)
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"exit.json"}) {
		t.Errorf("directory = %q, want only exit.json", names)
	}
}

func TestWriteJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		path func(t *testing.T, dir string) string
		v    any
	}{
		{"value that cannot be encoded", func(_ *testing.T, dir string) string { return filepath.Join(dir, "x.json") }, map[string]any{"c": make(chan int)}},
		{"missing directory", func(_ *testing.T, dir string) string { return filepath.Join(dir, "missing", "x.json") }, Spec{}},
		{"target is a directory", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "x.json")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, "keep"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, Spec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.path(t, dir)
			before := dirNames(t, dir)
			if err := WriteJSON(path, tt.v); err == nil {
				t.Fatalf("WriteJSON(%s): want an error", path)
			}
			// A failed write leaves no temporary file behind.
			if after := dirNames(t, dir); !reflect.DeepEqual(after, before) {
				t.Errorf("directory after a failed WriteJSON = %q, want %q", after, before)
			}
		})
	}
}

func TestReadJSONErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"id": `), 0o600); err != nil {
		t.Fatal(err)
	}
	var s Spec
	err := ReadJSON(bad, &s)
	if err == nil || !strings.HasPrefix(err.Error(), "reading "+bad+": ") {
		t.Errorf("ReadJSON(bad JSON) = %v, want an error starting with %q", err, "reading "+bad+": ")
	}
	err = ReadJSON(filepath.Join(dir, "missing.json"), &s)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadJSON(missing) = %v, want os.ErrNotExist", err)
	}
	if _, err := ReadExit(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadExit(no exit.json) = %v, want os.ErrNotExist", err)
	}
}

func TestSpecJSONNames(t *testing.T) {
	// The monitor and init of an older or newer skiff read this file:
	// the field names are part of the format.
	dir := t.TempDir()
	path := filepath.Join(dir, "spec.json")
	if err := WriteJSON(path, Spec{ID: "abc", Args: []string{"sh"}, Tty: true, OpenStdin: true, LogPath: "/l"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id": "abc"`, `"args": [`, `"tty": true`, `"openStdin": true`, `"stdinOnce": false`, `"logPath": "/l"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("spec.json lacks %s:\n%s", want, raw)
		}
	}
	for _, omitted := range []string{`"netns"`, `"newNetns"`, `"mounts"`, `"readonlyRootfs"`, `"shmSize"`} {
		if strings.Contains(string(raw), omitted) {
			t.Errorf("spec.json has %s though it is empty:\n%s", omitted, raw)
		}
	}
}

func TestStartError(t *testing.T) {
	var err error = &StartError{Code: 127, Msg: `exec: "x": executable file not found in $PATH`}
	if err.Error() != `exec: "x": executable file not found in $PATH` {
		t.Errorf("Error() = %q", err.Error())
	}
	var se *StartError
	if !errors.As(err, &se) || se.Code != 127 {
		t.Errorf("errors.As = %v, code %v", se, se)
	}
}
