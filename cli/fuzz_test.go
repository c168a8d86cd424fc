package cli

import (
	"encoding/csv"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
)

// Native fuzz targets of the CLI's parsers (`make fuzz`). Each asserts
// properties; what they found is kept under testdata/fuzz.

func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "127.0.0.1:8080:80/udp", "[::1]:80:80", "::1:80:80", "8000-8010:80", "8000-8001:80-81",
		"published=8080,target=80,protocol=udp", "80/sctp", ":80", "1.2.3.4::80", "65536", "80-79", "80/TCP", "[fe80::1%eth0]:80:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		exposed, bindings, err := ParsePublish([]string{spec})
		if err != nil {
			return
		}
		for p, bs := range bindings {
			if _, ok := exposed[p]; !ok {
				t.Fatalf("%q: %v published, not exposed", spec, p)
			}
			if proto := p.Proto(); proto != "tcp" && proto != "udp" && proto != "sctp" {
				t.Fatalf("%q: protocol %q", spec, proto)
			}
			for _, b := range bs {
				if b.HostIP.IsValid() && (b.HostIP.Zone() != "" || b.HostIP.Is4In6()) {
					t.Fatalf("%q: host address %v", spec, b.HostIP)
				}
				if b.HostPort != "" {
					lo, hi, isRange := strings.Cut(b.HostPort, "-")
					a, err1 := strconv.ParseUint(lo, 10, 16)
					z, err2 := strconv.ParseUint(hi, 10, 16)
					if err1 != nil || isRange && (err2 != nil || z < a) {
						t.Fatalf("%q: host port %q", spec, b.HostPort)
					}
				}
				// Each binding reads back as itself.
				again := publishSpec(p, b)
				_, bb, err := ParsePublish([]string{again})
				if err != nil || !reflect.DeepEqual(bb, network.PortMap{p: {b}}) {
					t.Fatalf("%q: %v %+v reads back from %q as %v, %v", spec, p, b, again, bb, err)
				}
			}
		}
	})
}

// publishSpec is a -p value for one binding.
func publishSpec(p network.Port, b network.PortBinding) string {
	s := strconv.Itoa(int(p.Num())) + "/" + string(p.Proto())
	switch {
	case b.HostIP.IsValid() && b.HostIP.Is6():
		return "[" + b.HostIP.String() + "]:" + b.HostPort + ":" + s
	case b.HostIP.IsValid():
		return b.HostIP.String() + ":" + b.HostPort + ":" + s
	case b.HostPort != "":
		return b.HostPort + ":" + s
	}
	return s
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{"type=bind,src=/a,dst=/b", "type=volume,source=v,target=/d,volume-nocopy,volume-label=a=b", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
		"dst=/x,ro", "type=bind,src=/a,dst=/b,bind-propagation=rshared,bind-recursive=readonly,ro", `"type=bind","src=/a,b",dst=/c`, "target=", "type=,dst=/x",
		"type=tmpfs,dst=/t,volume-opt=a=b", "readonly=maybe,dst=/x", "type=image,src=busybox,dst=/i,image-subpath=/bin"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		m, err := ParseMount(value)
		if err != nil {
			return
		}
		if m.Target == "" || m.Type == "" || strings.ToLower(string(m.Type)) != string(m.Type) {
			t.Fatalf("%q: %+v", value, m)
		}
		for _, o := range []struct {
			set  bool
			kind mount.Type
		}{{m.VolumeOptions != nil, mount.TypeVolume}, {m.BindOptions != nil, mount.TypeBind}, {m.TmpfsOptions != nil, mount.TypeTmpfs}, {m.ImageOptions != nil, mount.TypeImage}} {
			if o.set && m.Type != o.kind {
				t.Fatalf("%q: %s options on a %s mount", value, o.kind, m.Type)
			}
		}
		if o := m.TmpfsOptions; o != nil && o.SizeBytes < 0 {
			t.Fatalf("%q: tmpfs %+v", value, o)
		}
		// The same fields, one by one and quoted, read back the same.
		fields, _ := csv.NewReader(strings.NewReader(value)).Read()
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.Write(fields); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		again, err := ParseMount(strings.TrimSuffix(b.String(), "\n"))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("%q: %+v reads back from %q as %+v, %v", value, m, b.String(), again, err)
		}
	})
}
