package cli

import (
	"bytes"
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

// ellipsis shortens s to n runes, ending in "…", as docker does.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
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

// listFormat is what an ls command prints, from its --format and -q
// (docker's formatter.Context): "" or "table" is the default table (only
// the IDs with quiet), "table TEMPLATE" a table of the template's columns,
// "json" one JSON object a line, anything else a Go template a line.
type listFormat struct {
	// Format is the --format value.
	Format string
	// Quiet is -q: with the table format, only the IDs.
	Quiet bool
	// Table is the command's default table ("table {{.ID}}\t{{.Name}}").
	Table string
	// Headers are the column titles of the fields, by name ("ID": "NETWORK ID").
	Headers map[string]string
}

// listRow is one row of an ls command: methods named as the template
// fields, and the fields docker's "json" format prints.
type listRow interface {
	jsonFields() map[string]string
}

// writeList prints rows in the form f asks for.
func writeList[R listRow](w io.Writer, f listFormat, rows []R) error {
	format := f.Format
	switch format {
	case "", "table":
		format = f.Table
		if f.Quiet {
			format = "{{.ID}}"
		}
	case "json":
		for _, r := range rows {
			b, err := json.Marshal(r.jsonFields())
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
		}
		return nil
	}
	format, table := strings.CutPrefix(format, "table ")
	t, err := parseTemplate(format)
	if err != nil {
		return err
	}
	out := w
	tw := newTable(w)
	if table {
		out = tw
		var header strings.Builder
		if err := t.Execute(&header, f.Headers); err != nil {
			return &StatusError{Code: 1, Msg: "template parsing error: " + err.Error()}
		}
		fmt.Fprintln(out, header.String())
	}
	for _, r := range rows {
		var line strings.Builder
		if err := t.Execute(&line, r); err != nil {
			return &StatusError{Code: 1, Msg: "template parsing error: " + err.Error()}
		}
		fmt.Fprintln(out, line.String())
	}
	return tw.Flush()
}

// inspected is one object an inspect command found.
type inspected struct {
	// typed is the API type, which --format templates are executed on
	// first, as docker does; nil to use the JSON alone.
	typed any
	// raw is the object's JSON as the engine sent it.
	raw json.RawMessage
}

// inspectAll looks up each name with get and prints the objects found as
// docker inspect does: a JSON array indented by four spaces, a compact one
// for --format json, or each object through the template. The lookup
// errors come after, one a line, and the exit code is then 1.
func (c *CLI) inspectAll(names []string, format string, get func(name string) (inspected, error)) error {
	var t *template.Template
	if format != "" && format != "json" {
		var err error
		if t, err = parseTemplate(format); err != nil {
			// docker inspect exits 64 for a template it cannot parse.
			return &StatusError{Code: 64, Msg: err.Error()}
		}
	}
	var found []inspected
	var errs []string
	for _, n := range names {
		obj, err := get(n)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		found = append(found, obj)
	}
	var err error
	if t == nil {
		err = writeInspectJSON(c.Out, found, format == "json")
	} else {
		var msgs []string
		msgs, err = writeInspectTemplate(c.Out, t, found)
		errs = append(errs, msgs...)
	}
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return &StatusError{Code: 1, Msg: strings.Join(errs, "\n")}
	}
	return nil
}

// writeInspectJSON prints the objects' JSON as one array, indented (or
// compact) with the engine's field order and no HTML escaping.
func writeInspectJSON(w io.Writer, objs []inspected, compact bool) error {
	if len(objs) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	var all bytes.Buffer
	all.WriteByte('[')
	for i, o := range objs {
		if i > 0 {
			all.WriteByte(',')
		}
		all.Write(o.raw)
	}
	all.WriteByte(']')
	var out bytes.Buffer
	var err error
	if compact {
		err = json.Compact(&out, all.Bytes())
	} else {
		err = json.Indent(&out, all.Bytes(), "", "    ")
	}
	if err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = out.WriteTo(w)
	return err
}

// writeInspectTemplate prints each object through t, on its typed form
// and, when that fails, on its JSON (numbers kept as written); an object
// neither can print is reported in the returned messages. With nothing
// printed it prints an empty line, as docker does.
func writeInspectTemplate(w io.Writer, t *template.Template, objs []inspected) ([]string, error) {
	var out bytes.Buffer
	var errs []string
	var strict *template.Template
	for _, o := range objs {
		var b bytes.Buffer
		if o.typed != nil && t.Execute(&b, o.typed) == nil {
			out.Write(b.Bytes())
			out.WriteByte('\n')
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(o.raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		tmpl := t
		if o.typed != nil {
			// As docker's fallback: a key missing from the JSON is an
			// error (on a copy: Option changes the template it is given).
			if strict == nil {
				var err error
				if strict, err = t.Clone(); err != nil {
					return nil, err
				}
				strict.Option("missingkey=error")
			}
			tmpl = strict
		}
		b.Reset()
		if err := tmpl.Execute(&b, v); err != nil {
			if o.typed == nil {
				return nil, &StatusError{Code: 1, Msg: "template: " + err.Error()}
			}
			errs = append(errs, "template parsing error: "+err.Error())
			continue
		}
		out.Write(b.Bytes())
		out.WriteByte('\n')
	}
	if out.Len() == 0 {
		out.WriteByte('\n')
	}
	_, err := out.WriteTo(w)
	return errs, err
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

// timeRange reads --since and --until with timeArg, each error naming its
// flag as the docker CLI does.
func timeRange(since, until string) (string, string, error) {
	s, err := timeArgFor("since", since)
	if err != nil {
		return "", "", err
	}
	u, err := timeArgFor("until", until)
	return s, u, err
}

// timeArg turns --since (a duration like 10m, an RFC 3339 time or Unix
// seconds) into the Unix-seconds form the API takes.
func timeArg(v string) (string, error) { return timeArgFor("since", v) }

// timeArgFor is timeArg for the flag name.
func timeArgFor(name, v string) (string, error) {
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
	return "", &StatusError{Code: 1, Msg: fmt.Sprintf("invalid value for %q: failed to parse value as time or duration: %q", name, v)}
}
