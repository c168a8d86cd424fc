package opts

import (
	"bytes"
	"math/big"
	"net"
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/moby/moby/api/types/mount"
	"github.com/skiff-dev/skiff/logs"
)

// Native fuzz targets of the parsers of user input (`make fuzz` runs each
// for a minute). Each asserts properties, not just the absence of a
// panic; what they found is kept under testdata/fuzz, which `go test`
// runs as regression cases.

func FuzzParseCPUs(f *testing.F) {
	for _, s := range []string{"1", "1.5", "0.000000001", "1e-9", "3/2", "-1", "", "abc", "1e-20", "1e30", "0x10", "9223372036.854775807", "1/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseCPUs(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("%q: %d with an error", s, n)
			}
			msg := err.Error()
			if msg != "value is too precise" && msg != "failed to parse "+s+" as a rational number" {
				t.Fatalf("%q: unexpected message %q", s, msg)
			}
			return
		}
		// What parses is exactly n billionths of s.
		r, ok := new(big.Rat).SetString(s)
		if !ok || r.Cmp(big.NewRat(n, 1e9)) != 0 {
			t.Fatalf("%q: %d nanoCPUs is not the value", s, n)
		}
		// And reads back from its decimal form.
		back, err := ParseCPUs(big.NewRat(n, 1e9).FloatString(9))
		if err != nil || back != n {
			t.Fatalf("%q: %d does not round-trip: %d, %v", s, n, back, err)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1024", "512m", "1g", "1.5k", "", "abc", "-5", "10x", "1e30", "1 GiB", "0", "8e18", "9223372036854775807b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("%q: %d with an error", s, n)
			}
			return
		}
		if n < 0 {
			t.Fatalf("%q: negative size %d", s, n)
		}
		// A count of bytes reads back as itself (exactly, below 2^53:
		// go-units parses in float64).
		if n < 1<<53 {
			if back, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || back != n {
				t.Fatalf("%q: %d does not round-trip: %d, %v", s, n, back, err)
			}
		}
	})
}

func FuzzParseEnv(f *testing.F) {
	for _, s := range []string{"A=1\nB=2\n", "=x\n", "A B=1\n", "A=\xff\n", "\xef\xbb\xbfA=1", "# c\n\n  K=v \n", "K\n", "A=b=c\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseEnv(bytes.NewReader(data), nil)
		if err != nil {
			if len(lines) != 0 {
				t.Fatalf("%q: %q with an error", data, lines)
			}
			return
		}
		for _, l := range lines {
			k, _, ok := strings.Cut(l, "=")
			if !ok || k == "" || strings.ContainsAny(k, " \t") || strings.ContainsAny(l, "\n") || !utf8.ValidString(l) {
				t.Fatalf("%q: bad variable %q", data, l)
			}
			if strings.TrimLeftFunc(l, unicode.IsSpace) != l {
				t.Fatalf("%q: %q keeps leading space", data, l)
			}
			// The engine takes every variable the CLI sends.
			if _, err := ValidateEnv(l, nil); err != nil {
				t.Fatalf("%q: the engine refuses %q: %v", data, l, err)
			}
		}
	})
}

func FuzzValidateExtraHost(f *testing.F) {
	for _, s := range []string{"web:10.0.0.1", "web=::1", "web=[::1]", "gw:host-gateway", "noip", "h:999.1.1.1", "a:b=1.2.3.4", "h\n:1.2.3.4", "h: 1.2.3.4", "::1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if name, ip, err := ValidateExtraHostAPI(s); err == nil {
			if name == "" || NoControl("", name) != nil || ip != HostGateway && net.ParseIP(ip) == nil {
				t.Fatalf("%q: the engine takes name %q ip %q", s, name, ip)
			}
		}
		v, err := ValidateExtraHost(s)
		if err != nil {
			return
		}
		// What the CLI sends, the engine takes, as the same name and
		// address, without a control character.
		k, rest, _ := strings.Cut(v, ":")
		name, ip, err := ValidateExtraHostAPI(v)
		if err != nil || name != k || ip != strings.TrimSpace(rest) || NoControl("", v) != nil {
			t.Fatalf("%q: the CLI sends %q, which the engine reads as %q %q, %v", s, v, name, ip, err)
		}
	})
}

func FuzzParseLogOpts(f *testing.F) {
	for _, s := range []string{"max-size=1m", "max-size", "=x", "max-file=0", "max-size=1m\nmax-file=3", "tag={{.Name}}", "syslog-address=udp://1.2.3.4:514", "labels=a,b", "mode=non-blocking\nmax-buffer-size=1m"} {
		for _, d := range []string{"json-file", "local", "syslog", "fluentd", "none", "bogus"} {
			f.Add(d, s)
		}
	}
	f.Fuzz(func(t *testing.T, driver, joined string) {
		values := strings.Split(joined, "\n")
		m, err := ParseLogOpts(driver, values)
		if err != nil {
			if driver != "none" {
				t.Fatalf("%s %q: %v", driver, values, err)
			}
			return
		}
		// The last of a repeated key wins; a key alone is "".
		for i, v := range values {
			k, val, _ := strings.Cut(v, "=")
			last := true
			for _, w := range values[i+1:] {
				if wk, _, _ := strings.Cut(w, "="); wk == k {
					last = false
				}
			}
			if last && m[k] != val {
				t.Fatalf("%q: %q is %q, want %q", values, k, m[k], val)
			}
		}
		// The drivers' checks take any map without a panic; a driver
		// that takes no options refuses every one.
		err = logs.ValidateOptions(driver, m)
		if driver == "bogus" && err == nil {
			t.Fatalf("driver %q accepted", driver)
		}
	})
}

func FuzzParseBind(f *testing.F) {
	for _, s := range []string{"/data", "vol:/data", "vol:/data:ro,nocopy", "/h:/c:rw", "/h:/c:ro,rshared,z,cached", "/a:/b:ro,rw", "/foo:ro",
		":/b", "/a:/b:ro:x", "a::b", "/h:/", "relative", "/h:", `C:\x:/y`, "/a:/b/../..:ro", "v:/x:nocopy,rw,z,private,delegated"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = CheckVolumeFlag(s) // must not panic; ParseBind below is checked
		b, err := ParseBind(s)
		if err != nil {
			if b != (Bind{}) {
				t.Fatalf("%q: %+v with an error", s, b)
			}
			return
		}
		if !path.IsAbs(b.Destination) || path.Clean(b.Destination) != b.Destination || b.Destination == "/" {
			t.Fatalf("%q: destination %q", s, b.Destination)
		}
		if !ValidMountMode(b.Mode) || b.RW == strings.Contains(","+b.Mode+",", ",ro,") {
			t.Fatalf("%q: mode %q rw %v", s, b.Mode, b.RW)
		}
		switch b.Type {
		case mount.TypeBind:
			if !path.IsAbs(b.Source) || path.Clean(b.Source) != b.Source || b.NoCopy || b.Propagation == "" {
				t.Fatalf("%q: bind %+v", s, b)
			}
		case mount.TypeVolume:
			if strings.HasPrefix(b.Source, "/") || b.Propagation != "" {
				t.Fatalf("%q: volume %+v", s, b)
			}
		default:
			t.Fatalf("%q: type %q", s, b.Type)
		}
		// The parsed form reads back as itself.
		spec := b.Destination
		if b.Source != "" {
			spec = b.Source + ":" + spec
			if b.Mode != "" {
				spec += ":" + b.Mode
			}
		}
		if b.Source == "" && b.Mode != "" {
			t.Fatalf("%q: an anonymous volume with mode %q", s, b.Mode)
		}
		again, err := ParseBind(spec)
		if err != nil || again != b {
			t.Fatalf("%q: %+v reads back from %q as %+v, %v", s, b, spec, again, err)
		}
	})
}

func FuzzImageReference(f *testing.F) {
	for _, s := range []string{"busybox", "busybox:1.36", "library/busybox", "docker.io/library/busybox:latest", "localhost:5000/a/b:c",
		"127.0.0.1:5000/x@sha256:" + strings.Repeat("a", 64), "UPPER", "a//b", ":tag", "x:", "a@sha256:short", "[::1]:5000/x", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		named, err := NormalizeImage(ref)
		if err != nil {
			return
		}
		full := named.String()
		// Normalizing is idempotent, and the familiar form (what
		// Docker prints) means the same image.
		again, err := NormalizeImage(full)
		if err != nil || again.String() != full {
			t.Fatalf("%q: %q normalizes again to %v, %v", ref, full, again, err)
		}
		fam := FamiliarImage(full)
		back, err := NormalizeImage(fam)
		if err != nil || back.String() != full {
			t.Fatalf("%q: familiar %q of %q normalizes to %v, %v", ref, fam, full, back, err)
		}
		if strings.ContainsAny(full, " \t\n\x00") {
			t.Fatalf("%q: %q holds a space or control character", ref, full)
		}
	})
}
