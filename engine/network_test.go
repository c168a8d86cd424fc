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

func TestAddressableName(t *testing.T) {
	for name, ok := range map[string]bool{
		"web": true, "x/y": true, "a b": true, "%2e": true, "a..b": true, "...": true, ".x": true, "x.": true,
		"a/b/c": true, "create": true,
		"..": false, ".": false, "../x": false, "x/..": false, "x/../y": false, "./x": false,
		"x/": false, "/x": false, "x//y": false, "/": false,
	} {
		if err := addressableName(name); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", name, err, ok)
		}
	}
}

func TestCheckMTU(t *testing.T) {
	tests := []struct{ v, want string }{
		{"1500", ""}, {"0", ""}, {"68", ""}, {"65536", ""},
		// Docker's bridge driver's messages.
		{"-5", "invalid MTU number: -5"},
		{"abc", `failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing "abc": invalid syntax)`},
		{"", `failed to parse com.docker.network.driver.mtu value:  (strconv.Atoi: parsing "": invalid syntax)`},
	}
	for _, tt := range tests {
		err := checkMTU(map[string]string{mtuOption: tt.v})
		if got := errString(err); got != tt.want {
			t.Errorf("mtu %q: %q, want %q", tt.v, got, tt.want)
		}
	}
	if err := checkMTU(nil); err != nil {
		t.Error(err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
