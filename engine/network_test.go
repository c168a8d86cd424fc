package engine

import "testing"

func TestSplitLink(t *testing.T) {
	for _, tc := range []struct{ in, target, alias string }{
		{"db", "db", "db"},
		{"db:database", "db", "database"},
		{"/db:/web/database", "db", "database"},
	} {
		if target, alias := splitLink(tc.in); target != tc.target || alias != tc.alias {
			t.Errorf("splitLink(%q) = %q, %q; want %q, %q", tc.in, target, alias, tc.target, tc.alias)
		}
	}
}

func TestHostPortRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi uint16
		bad    bool
	}{
		{"", 0, 0, false},
		{"8080", 8080, 8080, false},
		{"8000-8010", 8000, 8010, false},
		{"8010-8000", 0, 0, true},
		{"x", 0, 0, true},
		{"70000", 0, 0, true},
	} {
		lo, hi, err := hostPortRange(tc.in)
		if (err != nil) != tc.bad || lo != tc.lo || hi != tc.hi {
			t.Errorf("hostPortRange(%q) = %d, %d, %v", tc.in, lo, hi, err)
		}
	}
}
