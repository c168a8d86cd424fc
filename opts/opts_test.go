package opts

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseCPUs(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"1", 1e9, ""},
		{"1.5", 1.5e9, ""},
		{"0.000000001", 1, ""},
		{"1e-9", 1, ""},
		{"3/2", 1.5e9, ""},
		{"0", 0, ""},
		// Negative values are the daemon's to refuse (its range message).
		{"-1", -1e9, ""},
		// docker CLI 28's messages.
		{"", 0, "failed to parse  as a rational number"},
		{"abc", 0, "failed to parse abc as a rational number"},
		{"1e-20", 0, "value is too precise"},
		{"1.0000000001", 0, "value is too precise"},
		{"1/3", 0, "value is too precise"},
		// Beyond int64: refused, not wrapped around.
		{"1e30", 0, "failed to parse 1e30 as a rational number"},
	}
	for _, tt := range tests {
		got, err := ParseCPUs(tt.in)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("ParseCPUs(%q) = %d, %q; want %d, %q", tt.in, got, errString(err), tt.want, tt.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"1024", 1024, ""},
		{"512m", 512 << 20, ""},
		{"1g", 1 << 30, ""},
		{"1.5k", 1536, ""},
		// docker's messages (go-units).
		{"", 0, "invalid size: ''"},
		{"abc", 0, "invalid size: 'abc'"},
		{"-5", 0, "invalid size: '-5'"},
		{"10x", 0, "invalid suffix: 'x'"},
		{"1e30", 0, "invalid size: '1e30'"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("ParseSize(%q) = %d, %q; want %d, %q", tt.in, got, errString(err), tt.want, tt.err)
		}
	}
}

func TestParseEnv(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "SET" {
			return "from-env", true
		}
		return "", false
	}
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"A=1\n  B=2\n# comment\n\nC= spaced \n", []string{"A=1", "B=2", "C= spaced "}, ""},
		{"\xef\xbb\xbfA=1\n", []string{"A=1"}, ""},
		{"SET\nUNSET\n", []string{"SET=from-env"}, ""},
		// The docker CLI's messages (kvfile).
		{"=x\n", nil, "no variable name on line '=x'"},
		{"A B=1\n", nil, "variable 'A B' contains whitespaces"},
		{"A=\xff\xfe\n", nil, "invalid utf8 bytes at line 1: [65 61 255 254]"},
	}
	for _, tt := range tests {
		got, err := ParseEnv(strings.NewReader(tt.in), lookup)
		if errString(err) != tt.err || tt.err == "" && strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ParseEnv(%q) = %q, %q; want %q, %q", tt.in, got, errString(err), tt.want, tt.err)
		}
	}
}

func TestParseEnvFileMessage(t *testing.T) {
	p := t.TempDir() + "/env"
	writeFile(t, p, "=x\n")
	_, err := ParseEnvFile(p, nil)
	if want := "invalid env file (" + p + "): no variable name on line '=x'"; errString(err) != want {
		t.Errorf("got %q, want %q", errString(err), want)
	}
}

func TestValidateEnv(t *testing.T) {
	for in, want := range map[string]string{
		"A=1": "", "A=": "", "A": "",
		"=x": "invalid environment variable: =x", "": "invalid environment variable: ",
	} {
		if _, err := ValidateEnv(in, nil); errString(err) != want {
			t.Errorf("ValidateEnv(%q) = %q, want %q", in, errString(err), want)
		}
	}
	got, _ := ValidateEnv("K", func(string) (string, bool) { return "v", true })
	if got != "K=v" {
		t.Errorf("lookup: %q", got)
	}
}

func TestValidateExtraHost(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"web:10.0.0.1", "web:10.0.0.1", ""},
		{"web=10.0.0.1", "web:10.0.0.1", ""},
		{"web=::1", "web:::1", ""},
		{"web:::1", "web:::1", ""},
		{"web=[::1]", "web:::1", ""},
		{"gw:host-gateway", "gw:host-gateway", ""},
		// The docker CLI's messages.
		{"noip", "", `bad format for add-host: "noip"`},
		{":1.2.3.4", "", `bad format for add-host: ":1.2.3.4"`},
		{"a:b=1.2.3.4", "", `bad format for add-host: "a:b=1.2.3.4"`},
		{"h:999.1.1.1", "", `invalid IP address in add-host: "999.1.1.1"`},
		// Beyond docker: no control characters.
		{"h\nx:1.2.3.4", "", `invalid add-host "h\nx:1.2.3.4": control characters are not allowed`},
		{"h:1.2.3.4\n", "", `invalid add-host "h:1.2.3.4\n": control characters are not allowed`},
		{"h\t:1.2.3.4", "", `invalid add-host "h\t:1.2.3.4": control characters are not allowed`},
	}
	for _, tt := range tests {
		got, err := ValidateExtraHost(tt.in)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("ValidateExtraHost(%q) = %q, %q; want %q, %q", tt.in, got, errString(err), tt.want, tt.err)
		}
	}
}

func TestValidateExtraHostAPI(t *testing.T) {
	tests := []struct{ in, name, ip, err string }{
		{"web:10.0.0.1", "web", "10.0.0.1", ""},
		{"web:::1", "web", "::1", ""},
		{"gw:host-gateway", "gw", "host-gateway", ""},
		// The daemon's messages: it splits on the first colon only.
		{"noip", "", "", `bad format for add-host: "noip"`},
		{"web=10.0.0.1", "", "", `bad format for add-host: "web=10.0.0.1"`},
		{"h:999.1.1.1", "", "", `invalid IP address in add-host: "999.1.1.1"`},
		{"h:[::1]", "", "", `invalid IP address in add-host: "[::1]"`},
		{"h\nevil:1.2.3.4", "", "", `invalid add-host "h\nevil:1.2.3.4": control characters are not allowed`},
	}
	for _, tt := range tests {
		name, ip, err := ValidateExtraHostAPI(tt.in)
		if name != tt.name || ip != tt.ip || errString(err) != tt.err {
			t.Errorf("ValidateExtraHostAPI(%q) = %q %q %q; want %q %q %q", tt.in, name, ip, errString(err), tt.name, tt.ip, tt.err)
		}
	}
}

func TestParseLink(t *testing.T) {
	tests := []struct{ in, name, alias, err string }{
		{"db", "db", "db", ""},
		{"db:data", "db", "data", ""},
		{"/db:/web/data", "db", "data", ""},
		// The daemon's messages.
		{"", "", "", "empty string specified for links"},
		{"::", "", "", "bad format for links: ::"},
		{"a:b:c", "", "", "bad format for links: a:b:c"},
		{"db:da\nta", "", "", `invalid link "db:da\nta": control characters are not allowed`},
	}
	for _, tt := range tests {
		name, alias, err := ParseLink(tt.in)
		if name != tt.name || alias != tt.alias || errString(err) != tt.err {
			t.Errorf("ParseLink(%q) = %q %q %q; want %q %q %q", tt.in, name, alias, errString(err), tt.name, tt.alias, tt.err)
		}
	}
}

func TestNoControl(t *testing.T) {
	for s, ok := range map[string]bool{
		"web": true, "a b": true, "ünïcode": true, "": true,
		"a\nb": false, "a\rb": false, "a\x00": false, "\x7f": false, "a\tb": false, "\u0085": false,
	} {
		if err := NoControl("hostname", s); (err == nil) != ok {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestValidateSysctlFlag(t *testing.T) {
	tests := []struct{ in, err string }{
		{"net.ipv4.ip_forward=1", ""},
		{"kernel.shmmax=100", ""},
		{"kernel.msgmax=1", ""},
		{"fs.mqueue.msg_max=20", ""},
		{"net.ipv4.ping_group_range=0 0", ""},
		// The docker CLI's messages.
		{"kernel.hostname=x", "sysctl 'kernel.hostname=x' is not allowed"},
		{"kernel.shmmax", "sysctl 'kernel.shmmax' is not allowed"},
		{"=1", "sysctl '=1' is not allowed"},
		{"vm.swappiness=1", "sysctl 'vm.swappiness=1' is not allowed"},
	}
	for _, tt := range tests {
		_, _, err := ValidateSysctlFlag(tt.in)
		if errString(err) != tt.err {
			t.Errorf("ValidateSysctlFlag(%q) = %q, want %q", tt.in, errString(err), tt.err)
		}
	}
}

func TestCheckSysctl(t *testing.T) {
	own := Namespaces{IPC: true, Net: true, UTS: true, User: true}
	hostNet := own
	hostNet.Net = false
	noUser := own
	noUser.User = false
	tests := []struct {
		name string
		ns   Namespaces
		err  string
	}{
		{"net.ipv4.ip_forward", own, ""},
		{"net/ipv4/ip_forward", own, ""},
		{"net.ipv4.conf.eth0/100.forwarding", own, ""},
		{"kernel.shmmax", own, ""},
		{"kernel.sem", own, ""},
		{"fs.mqueue.msg_max", own, ""},
		{"kernel.domainname", own, ""},
		{"user.max_user_namespaces", own, ""},
		// runc's messages, which Docker answers with.
		{"net.ipv4.ip_forward", hostNet, `sysctl "net.ipv4.ip_forward" not allowed in host network namespace`},
		{"kernel.hostname", own, `sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field`},
		{"kernel.bogus", own, `sysctl "kernel.bogus" is not in a separate kernel namespace`},
		{"vm.swappiness", own, `sysctl "vm.swappiness" is not in a separate kernel namespace`},
		{"kernel.msgmax", Namespaces{Net: true}, `sysctl "kernel.msgmax" is not allowed in the hosts ipc namespace`},
		{"user.max_user_namespaces", noUser, "setting ucounts without a user namespace not allowed: user.max_user_namespaces"},
		// Beyond runc: names that are no path below /proc/sys.
		{"net.ipv4/../../../etc/x", own, `invalid sysctl "net.ipv4/../../../etc/x"`},
		{"net..x", own, `invalid sysctl "net..x"`},
		{"net.", own, `invalid sysctl "net."`},
		{"", own, `invalid sysctl ""`},
		{"net.a\nb", own, `invalid sysctl "net.a\nb": control characters are not allowed`},
	}
	for _, tt := range tests {
		if err := CheckSysctl(tt.name, tt.ns); errString(err) != tt.err {
			t.Errorf("CheckSysctl(%q, %+v) = %q, want %q", tt.name, tt.ns, errString(err), tt.err)
		}
	}
}

func TestParseLogOpts(t *testing.T) {
	got, err := ParseLogOpts("json-file", []string{"max-size=1m", "max-file", "a=b=c", "max-size=2m"})
	if err != nil || len(got) != 3 || got["max-size"] != "2m" || got["max-file"] != "" || got["a"] != "b=c" {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseLogOpts("none", []string{"max-size=1m"}); errString(err) != "invalid logging opts for driver none" {
		t.Errorf("none: %v", err)
	}
	if got, err := ParseLogOpts("none", nil); got != nil || err != nil {
		t.Errorf("none without options: %v %v", got, err)
	}
}

func TestCheckVolumeFlag(t *testing.T) {
	tests := []struct{ in, err string }{
		{"/data", ""},
		{"/a:/b", ""},
		{"/a:/b:ro", ""},
		{"vol:/b:ro,nocopy", ""},
		{"ab", ""},
		// A drive letter, as docker's: the daemon answers.
		{"a::b", ""},
		// The docker CLI's messages.
		{"", "invalid empty volume spec"},
		{"/a::/b", "invalid spec: /a::/b: empty section between colons"},
		{":/b", "invalid spec: :/b: empty section between colons"},
		{"/a:", "invalid spec: /a:: empty section between colons"},
		{"/a:/b:", "invalid spec: /a:/b:: empty section between colons"},
		{"/a:/b:ro:x", "invalid spec: /a:/b:ro:x: too many colons"},
	}
	for _, tt := range tests {
		if err := CheckVolumeFlag(tt.in); errString(err) != tt.err {
			t.Errorf("CheckVolumeFlag(%q) = %q, want %q", tt.in, errString(err), tt.err)
		}
	}
}

func TestParseBind(t *testing.T) {
	tests := []struct {
		in   string
		want Bind
		err  string
	}{
		{"/data", Bind{Type: mount.TypeVolume, Destination: "/data", RW: true}, ""},
		{"vol:/data", Bind{Type: mount.TypeVolume, Source: "vol", Destination: "/data", RW: true}, ""},
		{"vol:/data:ro,nocopy", Bind{Type: mount.TypeVolume, Source: "vol", Destination: "/data", Mode: "ro,nocopy", NoCopy: true}, ""},
		{"/h//x/:/c/../d:rw", Bind{Type: mount.TypeBind, Source: "/h/x", Destination: "/d", Mode: "rw", RW: true, Propagation: "rprivate"}, ""},
		{"/h:/c:ro,rshared,z,cached", Bind{Type: mount.TypeBind, Source: "/h", Destination: "/c", Mode: "ro,rshared,z,cached", Propagation: "rshared"}, ""},
		{"/h:/c:consistent", Bind{Type: mount.TypeBind, Source: "/h", Destination: "/c", Mode: "consistent", RW: true, Propagation: "rprivate"}, ""},
		// The daemon's messages (moby volume/mounts/linux_parser.go).
		{"/a:/b:ro,rw", Bind{}, "invalid mode: ro,rw"},
		{"/a:/b:rw,rw", Bind{}, "invalid mode: rw,rw"},
		{"/a:/b:z,Z", Bind{}, "invalid mode: z,Z"},
		{"/a:/b:shared,slave", Bind{}, "invalid mode: shared,slave"},
		{"/a:/b:nocopy,nocopy", Bind{}, "invalid mode: nocopy,nocopy"},
		{"/a:/b:bogus", Bind{}, "invalid mode: bogus"},
		// An empty mode is no mode (the docker CLI refuses it first).
		{"/a:/b:", Bind{Type: mount.TypeBind, Source: "/a", Destination: "/b", RW: true, Propagation: "rprivate"}, ""},
		{"/foo:ro", Bind{}, "invalid volume specification: '/foo:ro'"},
		{"/b:nocopy", Bind{}, "invalid volume specification: '/b:nocopy'"},
		{":/b", Bind{}, "invalid volume specification: ':/b'"},
		{"/a:/b:ro:x", Bind{}, "invalid volume specification: '/a:/b:ro:x'"},
		{"a::b", Bind{}, "invalid mode: b"},
		{"/a::/b", Bind{}, "invalid mode: /b"},
		{"/h:/c:nocopy", Bind{}, `invalid volume specification: '/h:/c:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`},
		{"vol:/c:rshared", Bind{}, `invalid volume specification: 'vol:/c:rshared': invalid mount config for type "volume": field BindOptions must not be specified`},
		{"/h:/", Bind{}, `invalid volume specification: '/h:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`},
		{"/h:rel", Bind{}, `invalid volume specification: '/h:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`},
		{"relative", Bind{}, `invalid volume specification: 'relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute`},
		{"/h:", Bind{}, "invalid volume specification: '/h:'"},
	}
	for _, tt := range tests {
		got, err := ParseBind(tt.in)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("ParseBind(%q) = %+v, %q; want %+v, %q", tt.in, got, errString(err), tt.want, tt.err)
		}
	}
}
