package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
)

// newTable is the docker CLI's table layout: columns three spaces apart.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
}

// ago is "3 seconds ago", as docker prints CREATED.
func ago(unix int64) string {
	return units.HumanDuration(time.Since(time.Unix(unix, 0))) + " ago"
}

// ellipsis shortens s to max runes, ending in "…", as docker does.
func ellipsis(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// templateFuncs are the functions docker's --format templates offer.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"split": strings.Split,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"pad": func(s string, l, r int) string {
		return strings.Repeat(" ", l) + s + strings.Repeat(" ", r)
	},
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
	"println": fmt.Sprintln,
}

// parseTemplate parses a --format value; docker accepts "table" and
// "json" shorthands, handled by the callers.
func parseTemplate(format string) (*template.Template, error) {
	format = strings.ReplaceAll(format, `\t`, "\t")
	format = strings.ReplaceAll(format, `\n`, "\n")
	t, err := template.New("").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, &StatusError{Code: 1, Msg: "template parsing error: " + err.Error()}
	}
	return t, nil
}

// writeJSONIndent prints v the way docker inspect does.
func writeJSONIndent(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func quoteCommand(cmd string, trunc bool) string {
	if trunc {
		cmd = ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}

// humanSize is docker's size format (3 significant digits, decimal units).
func humanSize(n int64) string {
	return units.HumanSizeWithPrecision(float64(n), 3)
}

// timeArg turns --since/--until (a duration like 10m, an RFC 3339 time or
// Unix seconds) into the Unix-seconds form the API takes.
func timeArg(v string) (string, error) {
	if v == "" || v == "0" {
		return v, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		t := time.Now().Add(-d)
		return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()), nil
		}
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v, nil
	}
	return "", &StatusError{Code: 1, Msg: fmt.Sprintf("invalid value for \"since\": failed to parse value as time or duration: %q", v)}
}
