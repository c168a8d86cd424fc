package jsonfile_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/logs/jsonfile"
	"github.com/skiff-dev/skiff/logs/logdriver"
	"github.com/skiff-dev/skiff/logs/logstest"
)

// readBack is what the json-file at path holds, as logstest sees it.
func readBack(t *testing.T, path string) []logstest.Received {
	t.Helper()
	ents, err := jsonfile.Read(path, jsonfile.ReadConfig{Tail: -1})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var out []logstest.Received
	for _, e := range ents {
		line, complete := strings.CutSuffix(e.Log, "\n")
		out = append(out, logstest.Received{Source: e.Stream, Line: line, Partial: !complete})
	}
	return out
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts map[string]string
		new  func(logdriver.Info) (*jsonfile.Driver, error)
	}{
		{"json-file", nil, jsonfile.New},
		{"json-file rotating", map[string]string{"max-size": "4k", "max-file": "1000"}, jsonfile.New},
		{"json-file rotating compressed", map[string]string{"max-size": "4k", "max-file": "1000", "compress": "true"}, jsonfile.New},
		{"local", nil, jsonfile.NewLocal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logstest.Run(t, logstest.Harness{
				Start: func(_ *testing.T, info logdriver.Info) (logdriver.Driver, error) {
					for k, v := range tc.opts {
						info.Config[k] = v
					}
					return tc.new(info)
				},
				Received: func(t *testing.T, info logdriver.Info, _ int) []logstest.Received {
					return readBack(t, info.LogPath)
				},
			})
		})
	}
}

func newLog(t *testing.T, opts map[string]string) (*jsonfile.Driver, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c-json.log")
	d, err := jsonfile.New(logdriver.Info{Config: opts, LogPath: path})
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

func logLine(t *testing.T, d logdriver.Driver, s string) {
	t.Helper()
	if err := d.Log(&logdriver.Message{Line: []byte(s), Source: "stdout", Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// files lists the log directory: name → size.
func files(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range ents {
		st, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = st.Size()
	}
	return out
}

func names(m map[string]int64) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// lineN is line i of the rotation tests: 100 bytes of entry on disk with
// the JSON around it.
func lineN(i int) string { return fmt.Sprintf("line %06d %s", i, strings.Repeat("x", 20)) }

func TestRotation(t *testing.T) {
	tests := []struct {
		name  string
		opts  map[string]string
		lines int
		files []string
	}{
		{"max-file 3", map[string]string{"max-size": "1k", "max-file": "3"}, 100,
			[]string{"c-json.log", "c-json.log.1", "c-json.log.2"}},
		{"max-file 1 truncates", map[string]string{"max-size": "1k", "max-file": "1"}, 100,
			[]string{"c-json.log"}},
		{"compress", map[string]string{"max-size": "1k", "max-file": "4", "compress": "true"}, 100,
			[]string{"c-json.log", "c-json.log.1.gz", "c-json.log.2.gz", "c-json.log.3.gz"}},
		{"max-file without max-size never rotates", map[string]string{"max-file": "3"}, 100,
			[]string{"c-json.log"}},
		{"not full yet", map[string]string{"max-size": "100k", "max-file": "3"}, 100,
			[]string{"c-json.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, path := newLog(t, tt.opts)
			for i := 0; i < tt.lines; i++ {
				logLine(t, d, lineN(i))
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			got := files(t, filepath.Dir(path))
			if strings.Join(names(got), " ") != strings.Join(tt.files, " ") {
				t.Fatalf("files %v, want %v", names(got), tt.files)
			}
			cfg, _ := jsonfile.ParseConfig(tt.opts)
			// A file rotates once it has reached max-size, before the
			// next entry: it is at least max-size, less one entry.
			for name := range got {
				if strings.HasSuffix(name, ".gz") || name == "c-json.log" {
					continue
				}
				raw, err := os.ReadFile(filepath.Join(filepath.Dir(path), name))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.SplitAfter(string(raw), "\n")
				last := len(lines[len(lines)-2])
				if int64(len(raw)) < cfg.MaxSize || int64(len(raw)-last) >= cfg.MaxSize {
					t.Errorf("%s is %d bytes (last entry %d), want max-size %d reached by its last entry", name, len(raw), last, cfg.MaxSize)
				}
			}
			// What is kept is the newest lines, contiguous, in order.
			ents, err := jsonfile.Read(path, jsonfile.ReadConfig{Tail: -1})
			if err != nil {
				t.Fatal(err)
			}
			kept := len(ents)
			if kept == 0 || (cfg.MaxSize < 0 && kept != tt.lines) {
				t.Fatalf("read %d entries, want the newest of %d", kept, tt.lines)
			}
			for i, e := range ents {
				if want := lineN(tt.lines-kept+i) + "\n"; e.Log != want {
					t.Fatalf("entry %d = %q, want %q", i, e.Log, want)
				}
			}
		})
	}
}

func TestCompressedHeader(t *testing.T) {
	d, path := newLog(t, map[string]string{"max-size": "1k", "max-file": "2", "compress": "true"})
	var last time.Time
	for i := 0; i < 20; i++ {
		now := time.Now().UTC()
		if err := d.Log(&logdriver.Message{Line: []byte(lineN(i)), Source: "stdout", Timestamp: now}); err != nil {
			t.Fatal(err)
		}
		// The first file holds the first 10 entries (1k / ~100 bytes).
		if i == 9 {
			last = now
		}
	}
	d.Close()
	f, err := os.Open(path + ".1.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		LastTime time.Time `json:"lastTime"`
	}
	if err := json.Unmarshal(zr.Header.Extra, &meta); err != nil {
		t.Fatalf("gzip header extra %q: %v", zr.Header.Extra, err)
	}
	if !meta.LastTime.Equal(last) {
		t.Errorf("lastTime %v, want %v (the rotated file's last entry)", meta.LastTime, last)
	}
}

func TestReadAcrossFiles(t *testing.T) {
	d, path := newLog(t, map[string]string{"max-size": "1k", "max-file": "10"})
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	const n = 35 // 10 per file: .3 .2 .1 and 5 in the current file
	for i := 0; i < n; i++ {
		if err := d.Log(&logdriver.Message{Line: []byte(lineN(i)), Source: "stdout", Timestamp: at(i)}); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	tests := []struct {
		name        string
		cfg         jsonfile.ReadConfig
		first, last int // entries first..last; first > last for none
	}{
		{"all, oldest file first", jsonfile.ReadConfig{Tail: -1}, 0, 34},
		{"tail within the current file", jsonfile.ReadConfig{Tail: 3}, 32, 34},
		{"tail across files", jsonfile.ReadConfig{Tail: 12}, 23, 34},
		{"tail larger than everything", jsonfile.ReadConfig{Tail: 1000}, 0, 34},
		{"tail 0", jsonfile.ReadConfig{Tail: 0}, 1, 0},
		{"since in a rotated file", jsonfile.ReadConfig{Tail: -1, Since: at(7)}, 7, 34},
		{"until in a rotated file", jsonfile.ReadConfig{Tail: -1, Until: at(12)}, 0, 12},
		{"since and until", jsonfile.ReadConfig{Tail: -1, Since: at(9), Until: at(21)}, 9, 21},
		{"tail then until", jsonfile.ReadConfig{Tail: 12, Until: at(30)}, 23, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ents, err := jsonfile.Read(path, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := tt.first; i <= tt.last; i++ {
				want = append(want, lineN(i)+"\n")
			}
			var got []string
			for _, e := range ents {
				got = append(got, e.Log)
			}
			if strings.Join(got, "") != strings.Join(want, "") {
				t.Errorf("got %d entries %.60q…, want %d from %d", len(got), got, len(want), tt.first)
			}
		})
	}
}

// writeNumbered logs n numbered lines as fast as it can, then closes d.
func writeNumbered(t *testing.T, d logdriver.Driver, n int) {
	for i := 0; i < n; i++ {
		if err := d.Log(&logdriver.Message{Line: []byte(lineN(i)), Source: "stdout", Timestamp: time.Now()}); err != nil {
			t.Error(err)
			return
		}
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
}

// checkNumbered checks that ents are lines from..from+len-1 in order.
func checkNumbered(t *testing.T, ents []jsonfile.Entry, from int) {
	t.Helper()
	for i, e := range ents {
		if want := lineN(from+i) + "\n"; e.Log != want {
			t.Fatalf("entry %d = %q, want %q (a line lost or repeated)", i, e.Log, want)
		}
	}
}

// TestFollowAcrossRotation follows a log while it is written and rotated
// fast, as `docker logs -f` does: every line arrives once, in order.
func TestFollowAcrossRotation(t *testing.T) {
	for _, opts := range []map[string]string{
		{"max-size": "16k", "max-file": "200"},
		{"max-size": "16k", "max-file": "200", "compress": "true"},
	} {
		t.Run(fmt.Sprint(opts), func(t *testing.T) {
			const n = 20000
			d, path := newLog(t, opts)
			logLine(t, d, lineN(0))
			done := make(chan struct{})
			var got []jsonfile.Entry
			var rerr error
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				rerr = jsonfile.ReadLogs(context.Background(), path, jsonfile.ReadConfig{Tail: -1, Follow: true, Done: done},
					func(ents []jsonfile.Entry) error {
						got = append(got, ents...)
						return nil
					})
			}()
			for i := 1; i < n; i++ {
				logLine(t, d, lineN(i))
			}
			d.Close()
			close(done)
			wg.Wait()
			if rerr != nil {
				t.Fatal(rerr)
			}
			if len(got) != n {
				t.Errorf("followed %d entries, want %d", len(got), n)
			}
			checkNumbered(t, got, 0)
		})
	}
}

// TestFollowCatchesUp follows a log whose reader falls many rotations
// behind (its fn blocks while the log rotates a hundred times): it reads
// the files it missed, found by identity or, once gzipped, by the time of
// their last entry.
func TestFollowCatchesUp(t *testing.T) {
	for _, opts := range []map[string]string{
		{"max-size": "2k", "max-file": "200"},
		{"max-size": "2k", "max-file": "200", "compress": "true"},
	} {
		t.Run(fmt.Sprint(opts), func(t *testing.T) {
			const n = 2000
			d, path := newLog(t, opts)
			logLine(t, d, lineN(0))
			release, done := make(chan struct{}), make(chan struct{})
			var got []jsonfile.Entry
			errc := make(chan error, 1)
			go func() {
				errc <- jsonfile.ReadLogs(context.Background(), path, jsonfile.ReadConfig{Tail: -1, Follow: true, Done: done},
					func(ents []jsonfile.Entry) error {
						if got == nil {
							<-release
						}
						got = append(got, ents...)
						return nil
					})
			}()
			writeNumbered(t, d, n) // lines 0..n-1 again after the first
			if len(files(t, filepath.Dir(path))) < 50 {
				t.Fatalf("only %d files: the log did not rotate enough", len(files(t, filepath.Dir(path))))
			}
			close(release)
			close(done)
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if len(got) != n+1 {
				t.Fatalf("followed %d entries, want %d", len(got), n+1)
			}
			checkNumbered(t, got[1:], 0)
		})
	}
}

// TestReadWhileRotating reads the whole log again and again while it
// rotates: each read is a contiguous run of lines ending at the newest.
func TestReadWhileRotating(t *testing.T) {
	d, path := newLog(t, map[string]string{"max-size": "1k", "max-file": "5"})
	logLine(t, d, lineN(0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				d.Close()
				return
			default:
			}
			logLine(t, d, lineN(i))
		}
	}()
	deadline := time.Now().Add(time.Second)
	reads := 0
	for time.Now().Before(deadline) {
		ents, err := jsonfile.Read(path, jsonfile.ReadConfig{Tail: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			continue
		}
		var first int
		if _, err := fmt.Sscanf(ents[0].Log, "line %d", &first); err != nil {
			t.Fatalf("first entry %q: %v", ents[0].Log, err)
		}
		checkNumbered(t, ents, first)
		reads++
	}
	close(stop)
	wg.Wait()
	t.Logf("%d consistent reads", reads)
}

func TestFollowWaitsForTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	done := make(chan struct{})
	var got []jsonfile.Entry
	errc := make(chan error, 1)
	go func() {
		errc <- jsonfile.ReadLogs(context.Background(), path, jsonfile.ReadConfig{Tail: -1, Follow: true, Done: done},
			func(ents []jsonfile.Entry) error {
				got = append(got, ents...)
				return nil
			})
	}()
	time.Sleep(2 * 50 * time.Millisecond) // let the follow find no file
	d, err := jsonfile.New(logdriver.Info{LogPath: path})
	if err != nil {
		t.Fatal(err)
	}
	writeNumbered(t, d, 10)
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("followed %d entries, want 10", len(got))
	}
	checkNumbered(t, got, 0)
}

func TestFollowCancel(t *testing.T) {
	d, path := newLog(t, nil)
	defer d.Close()
	logLine(t, d, "one")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- jsonfile.ReadLogs(ctx, path, jsonfile.ReadConfig{Tail: -1, Follow: true}, func([]jsonfile.Entry) error { return nil })
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ReadLogs after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLogs did not return after cancel")
	}
}

func TestFollowUntilStops(t *testing.T) {
	d, path := newLog(t, nil)
	defer d.Close()
	base := time.Now().UTC()
	for i := 0; i < 3; i++ {
		if err := d.Log(&logdriver.Message{Line: []byte(lineN(i)), Source: "stdout", Timestamp: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []jsonfile.Entry
	err := jsonfile.ReadLogs(context.Background(), path, jsonfile.ReadConfig{Tail: -1, Follow: true, Until: base.Add(time.Second)},
		func(ents []jsonfile.Entry) error {
			got = append(got, ents...)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d entries, want the 2 up to until (and no wait)", len(got))
	}
}

func TestAttrs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	d, err := jsonfile.New(logdriver.Info{
		Config:          map[string]string{"labels": "app,missing", "env": "FOO", "tag": "{{.Name}}/{{.ID}}"},
		ContainerID:     strings.Repeat("0123456789", 7)[:64],
		ContainerName:   "/web",
		ContainerLabels: map[string]string{"app": "shop", "other": "x"},
		ContainerEnv:    []string{"FOO=bar", "BAZ=qux"},
		LogPath:         path,
	})
	if err != nil {
		t.Fatal(err)
	}
	logLine(t, d, "hi")
	d.Close()
	raw, _ := os.ReadFile(path)
	want := `{"log":"hi\n","stream":"stdout","attrs":{"FOO":"bar","app":"shop","tag":"web/012345678901"},"time":"`
	if !strings.HasPrefix(string(raw), want) {
		t.Fatalf("line %s\nwant prefix %s", raw, want)
	}
	ents, _ := jsonfile.Read(path, jsonfile.ReadConfig{Tail: -1})
	if len(ents) != 1 || ents[0].Attrs["app"] != "shop" {
		t.Errorf("read %+v", ents)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		opts map[string]string
		err  string // "" valid
		cfg  jsonfile.Config
	}{
		{nil, "", jsonfile.Config{MaxSize: -1, MaxFile: 1}},
		{map[string]string{"max-size": "10m"}, "", jsonfile.Config{MaxSize: 10000000, MaxFile: 1}},
		{map[string]string{"max-size": "1k", "max-file": "3", "compress": "true"}, "", jsonfile.Config{MaxSize: 1000, MaxFile: 3, Compress: true}},
		{map[string]string{"max-size": "1.5KiB"}, "", jsonfile.Config{MaxSize: 1500, MaxFile: 1}},
		{map[string]string{"max-size": "abc"}, "invalid size: 'abc'", jsonfile.Config{}},
		{map[string]string{"max-size": "0"}, "max-size must be a positive number", jsonfile.Config{}},
		{map[string]string{"max-file": "0"}, "max-file cannot be less than 1", jsonfile.Config{}},
		{map[string]string{"max-file": "x"}, `strconv.Atoi: parsing "x": invalid syntax`, jsonfile.Config{}},
		{map[string]string{"max-size": "1m", "compress": "true"}, "compress cannot be true when max-file is less than 2 or max-size is not set", jsonfile.Config{}},
		{map[string]string{"max-file": "2", "compress": "true"}, "compress cannot be true when max-file is less than 2 or max-size is not set", jsonfile.Config{}},
		{map[string]string{"compress": "maybe"}, `strconv.ParseBool: parsing "maybe": invalid syntax`, jsonfile.Config{}},
		{map[string]string{"foo": "bar"}, "unknown log opt 'foo' for json-file log driver", jsonfile.Config{}},
		{map[string]string{"labels": "a", "env": "B", "env-regex": "^C", "labels-regex": "^d", "tag": "x"}, "", jsonfile.Config{MaxSize: -1, MaxFile: 1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.opts), func(t *testing.T) {
			err := jsonfile.ValidateOptions(tt.opts)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("ValidateOptions: %v", err)
				}
				cfg, _ := jsonfile.ParseConfig(tt.opts)
				if cfg != tt.cfg {
					t.Errorf("config %+v, want %+v", cfg, tt.cfg)
				}
				return
			}
			if err == nil || err.Error() != tt.err {
				t.Fatalf("ValidateOptions = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestLocalOptions(t *testing.T) {
	cfg, err := jsonfile.ParseLocalConfig(nil, "")
	if err != nil || cfg != jsonfile.LocalDefaults {
		t.Fatalf("defaults %+v, %v", cfg, err)
	}
	cfg, err = jsonfile.ParseLocalConfig(map[string]string{"cache-max-size": "1m", "cache-max-file": "2", "max-size": "9m"}, "cache-")
	if err != nil || cfg != (jsonfile.Config{MaxSize: 1000000, MaxFile: 2, Compress: true}) {
		t.Fatalf("cache options %+v, %v", cfg, err)
	}
	if err := jsonfile.ValidateLocalOptions(map[string]string{"max-file": "1"}); err == nil ||
		err.Error() != "compression cannot be enabled when max file count is 1" {
		t.Fatalf("max-file 1 with compression: %v", err)
	}
}
