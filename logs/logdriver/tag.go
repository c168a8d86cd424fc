package logdriver

import (
	"bytes"
	"encoding/json"
	"strings"
	"text/template"
)

// DefaultTag is the tag template of syslog and fluentd: the short id.
const DefaultTag = "{{.ID}}"

// templateFuncs are the functions of Docker's templates package.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return strings.TrimSpace(buf.String())
	},
	"split": strings.Split,
	"join":  strings.Join,
	"title": strings.Title, //nolint:staticcheck // Docker's templates use it.
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"pad": func(s string, prefix, suffix int) string {
		if s == "" {
			return s
		}
		return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
	},
	"truncate": func(s string, n int) string {
		if len(s) < n {
			return s
		}
		return s[:n]
	},
}

// tagData is what a tag template sees: Info's fields and methods, and
// DaemonName defaulted.
type tagData struct {
	*Info
	DaemonName string
}

// Tag expands the tag option of info.Config (or def when it is unset) as
// Docker's loggerutils.ParseLogTag does: {{.ID}}, {{.FullID}}, {{.Name}},
// {{.ImageID}}, {{.ImageFullID}}, {{.ImageName}}, {{.Command}},
// {{.Hostname}}, {{.DaemonName}}, Info's fields, and the functions of
// Docker's templates (json, split, join, title, lower, upper, pad,
// truncate).
func (info *Info) Tag(def string) (string, error) {
	tmpl := info.Config[OptTag]
	if tmpl == "" {
		tmpl = def
	}
	switch tmpl {
	case "":
		return "", nil
	case "{{.ID}}":
		return info.ID(), nil
	case "{{.FullID}}":
		return info.FullID(), nil
	case "{{.Name}}":
		return info.Name(), nil
	}
	t, err := template.New("log-tag").Funcs(templateFuncs).Parse(tmpl)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, tagData{Info: info, DaemonName: info.daemonName()}); err != nil {
		return "", err
	}
	return buf.String(), nil
}
