package logs

import (
	"net/url"
	"sort"
	"strings"
)

// TimestampFormat is how `logs --timestamps` prints an entry's time, as
// Docker's: RFC 3339 with always nine digits of nanoseconds.
const TimestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Details is what `logs --details` prints before each line, as Docker's:
// the entry's attributes (labels, env, tag options) as key=value,
// query-escaped, sorted by key, comma-separated, then a space (a lone
// space when there are none).
func Details(attrs map[string]string) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(attrs[k]))
	}
	b.WriteByte(' ')
	return b.String()
}
