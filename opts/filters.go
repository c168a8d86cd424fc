package opts

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Filters are the filters of a list or prune request, by key: Docker's
// filters parameter, {"status":{"exited":true}} or the older
// {"status":["exited"]}.
type Filters map[string][]string

// ParseFilters decodes Docker's filters parameter; empty is no filter.
func ParseFilters(s string) (Filters, error) {
	out := Filters{}
	if s == "" {
		return out, nil
	}
	var m map[string]map[string]bool
	if err := json.Unmarshal([]byte(s), &m); err == nil {
		for k, vs := range m {
			for v, ok := range vs {
				if ok {
					out[k] = append(out[k], v)
				}
			}
		}
		return out, nil
	}
	var l map[string][]string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("invalid filter: %w", err)
	}
	return l, nil
}

// Bool reads key as a boolean filter ("true" or "1"); set is false when
// the filter is absent.
func (f Filters) Bool(key string) (value, set bool) {
	v, ok := f[key]
	if !ok || len(v) == 0 {
		return false, false
	}
	return v[0] == "true" || v[0] == "1", true
}

// MatchLabels reports whether labels pass the label filters: every
// "k" present, every "k=v" equal. Without label filters it is true.
func (f Filters) MatchLabels(labels map[string]string) bool {
	return MatchLabels(labels, f["label"])
}

// MatchLabels reports whether labels have every "k" or "k=v" in want.
func MatchLabels(labels map[string]string, want []string) bool {
	for _, w := range want {
		k, val, hasVal := strings.Cut(w, "=")
		got, ok := labels[k]
		if !ok || (hasVal && got != val) {
			return false
		}
	}
	return true
}
