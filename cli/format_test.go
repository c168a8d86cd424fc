package cli

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEllipsis(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 20, "short"},
		{"", 5, ""},
		{"exactly20characters!", 20, "exactly20characters!"},
		{"exactly21characters!!", 20, "exactly21characters…"},
		{"abcdef", 3, "ab…"},
		{"abcdef", 1, "…"},
		// Runes, not bytes.
		{"héllo wörld", 11, "héllo wörld"},
		{"héllo wörld", 6, "héllo…"},
		{"☃☃☃☃☃", 4, "☃☃☃…"},
	}
	for _, tt := range tests {
		got := ellipsis(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("ellipsis(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if n := len([]rune(got)); n > tt.max {
			t.Errorf("ellipsis(%q, %d) is %d runes long", tt.in, tt.max, n)
		}
	}
}

func TestShortID(t *testing.T) {
	const full = "4f2c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b"
	tests := []struct{ in, want string }{
		{full, "4f2c1a9b8e7d"},
		{"sha256:" + full, "4f2c1a9b8e7d"},
		{"4f2c1a9b8e7d", "4f2c1a9b8e7d"},
		{"abc", "abc"},
		{"sha256:abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := shortID(tt.in); got != tt.want {
			t.Errorf("shortID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuoteCommand(t *testing.T) {
	tests := []struct {
		cmd   string
		trunc bool
		want  string
	}{
		{"echo hi", true, `"echo hi"`},
		{"echo hi", false, `"echo hi"`},
		{"", true, `""`},
		{`echo "hi"`, true, `"echo \"hi\""`},
		{"sh -c 'while true; do sleep 1; done'", true, `"sh -c 'while true; …"`},
		{"sh -c 'while true; do sleep 1; done'", false, `"sh -c 'while true; do sleep 1; done'"`},
		{"/docker-entrypoint.sh nginx -g 'daemon off;'", true, `"/docker-entrypoint.…"`},
		{"12345678901234567890", true, `"12345678901234567890"`},
		{"123456789012345678901", true, `"1234567890123456789…"`},
		{"a\tb", true, `"a\tb"`},
	}
	for _, tt := range tests {
		if got := quoteCommand(tt.cmd, tt.trunc); got != tt.want {
			t.Errorf("quoteCommand(%q, %v) = %s, want %s", tt.cmd, tt.trunc, got, tt.want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0B"},
		{999, "999B"},
		{1000, "1kB"},
		{1024, "1.02kB"},
		{4_261_000, "4.26MB"},
		{2_130_000, "2.13MB"},
		{2_135_000, "2.13MB"},
		{77_800_000, "77.8MB"},
		{123_456_789, "123MB"},
		{1_234_567_890, "1.23GB"},
		{1_500_000_000_000, "1.5TB"},
	}
	for _, tt := range tests {
		if got := humanSize(tt.n); got != tt.want {
			t.Errorf("humanSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// unixOf parses timeArg's "seconds.nanoseconds" output.
func unixOf(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("timeArg result %q is not a number: %v", s, err)
	}
	return f
}

func TestTimeArgDuration(t *testing.T) {
	tests := []struct {
		in string
		d  time.Duration
	}{
		{"10m", 10 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"45s", 45 * time.Second},
		{"1.5h", 90 * time.Minute},
		{"-10m", -10 * time.Minute}, // in the future, as Docker allows
	}
	for _, tt := range tests {
		before := time.Now()
		got, err := timeArg(tt.in)
		after := time.Now()
		if err != nil {
			t.Errorf("timeArg(%q): %v", tt.in, err)
			continue
		}
		sec, frac, ok := strings.Cut(got, ".")
		if !ok || len(frac) != 9 {
			t.Errorf("timeArg(%q) = %q, want seconds.nanoseconds", tt.in, got)
		}
		if _, err := strconv.ParseInt(sec, 10, 64); err != nil {
			t.Errorf("timeArg(%q) = %q: seconds %v", tt.in, got, err)
		}
		v := unixOf(t, got)
		lo := float64(before.Add(-tt.d).UnixNano())/1e9 - 0.001
		hi := float64(after.Add(-tt.d).UnixNano())/1e9 + 0.001
		if v < lo || v > hi {
			t.Errorf("timeArg(%q) = %s, want between %.3f and %.3f (now - %v)", tt.in, got, lo, hi, tt.d)
		}
	}
}

func TestTimeArg(t *testing.T) {
	local := func(layout, v string) string {
		tm, err := time.ParseInLocation(layout, v, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(tm.Unix(), 10) + ".000000000"
	}
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"2024-01-02T03:04:05Z", "1704164645.000000000"},
		{"2024-01-02T03:04:05+01:00", "1704161045.000000000"},
		{"2024-01-02T03:04:05-02:30", "1704173645.000000000"},
		{"2024-01-02T03:04:05.5Z", "1704164645.500000000"},
		{"2024-01-02T03:04:05.123456789Z", "1704164645.123456789"},
		// Without a zone: local time, as Docker.
		{"2024-01-02T03:04:05", local("2006-01-02T15:04:05", "2024-01-02T03:04:05")},
		{"2024-01-02T03:04", local("2006-01-02T15:04", "2024-01-02T03:04")},
		{"2024-01-02", local("2006-01-02", "2024-01-02")},
		// Unix seconds pass through.
		{"1700000000", "1700000000"},
		{"1700000000.5", "1700000000.5"},
		{"1700000000.123456789", "1700000000.123456789"},
	}
	for _, tt := range tests {
		got, err := timeArg(tt.in)
		if err != nil {
			t.Errorf("timeArg(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("timeArg(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTimeArgErrors(t *testing.T) {
	for _, in := range []string{"garbage", "10 minutes", "2024-13-45", "yesterday", "1e", "10x"} {
		got, err := timeArg(in)
		if err == nil {
			t.Errorf("timeArg(%q) = %q, want an error", in, got)
			continue
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 1 {
			t.Errorf("timeArg(%q) error = %#v, want a *StatusError with code 1", in, err)
			continue
		}
		want := `invalid value for "since": failed to parse value as time or duration: ` + strconv.Quote(in)
		if se.Msg != want {
			t.Errorf("timeArg(%q) error = %q, want %q", in, se.Msg, want)
		}
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		format string
		data   any
		want   string
	}{
		{`{{.ID}}\t{{.Names}}`, map[string]string{"ID": "abc", "Names": "web"}, "abc\tweb"},
		{`{{json .}}`, map[string]string{"a": "b"}, `{"a":"b"}`},
		{`{{upper .X}} {{lower .Y}} {{title .X}}`, map[string]string{"X": "ab", "Y": "CD"}, "AB cd Ab"},
		{`{{join .L ","}}`, map[string][]string{"L": {"a", "b"}}, "a,b"},
		{`{{truncate .X 3}}`, map[string]string{"X": "abcdef"}, "abc"},
		{`{{pad .X 1 2}}|`, map[string]string{"X": "a"}, " a  |"},
		{`a\nb`, nil, "a\nb"},
	}
	for _, tt := range tests {
		tmpl, err := parseTemplate(tt.format)
		if err != nil {
			t.Errorf("parseTemplate(%q): %v", tt.format, err)
			continue
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, tt.data); err != nil {
			t.Errorf("executing %q: %v", tt.format, err)
			continue
		}
		if b.String() != tt.want {
			t.Errorf("template %q = %q, want %q", tt.format, b.String(), tt.want)
		}
	}
	_, err := parseTemplate("{{.ID")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 1 || !strings.HasPrefix(se.Msg, "template parsing error: ") {
		t.Errorf("parseTemplate(bad) = %v, want a StatusError code 1 \"template parsing error: ...\"", err)
	}
}

func TestTimeArgZeroMeansTheBeginning(t *testing.T) {
	if got, err := timeArg("0"); err != nil || got != "0" {
		t.Errorf(`timeArg("0") = %q, %v; want "0"`, got, err)
	}
}

func TestTimeRangeNamesTheFlag(t *testing.T) {
	if _, _, err := timeRange("10m", "yesterday"); err == nil || !strings.Contains(err.Error(), `invalid value for "until"`) {
		t.Errorf("a bad --until: %v, want the error to name until", err)
	}
	if _, _, err := timeRange("nope", ""); err == nil || !strings.Contains(err.Error(), `invalid value for "since"`) {
		t.Errorf("a bad --since: %v", err)
	}
}
