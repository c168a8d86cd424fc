package opts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseUnixTime reads Docker's since/until values: Unix seconds with an
// optional fraction.
func ParseUnixTime(v string) (time.Time, error) {
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q", v)
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		ns, _ = strconv.ParseInt(frac, 10, 64)
	}
	return time.Unix(s, ns), nil
}
