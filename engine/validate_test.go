package engine

import (
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/images"
)

// The daemon's refusals of a create request, with Docker 28's messages
// (moby daemon/container.go, daemon_unix.go, runconfig; opts), and
// skiff's own beyond Docker (control characters, modes it cannot honour).
func TestValidateConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  container.Config
		hc   container.HostConfig
		nc   network.NetworkingConfig
		want string
	}{
		{name: "good", cfg: container.Config{Env: []string{"A=1", "B"}, Hostname: "web", Domainname: "example.org"},
			hc: container.HostConfig{ExtraHosts: []string{"h:1.2.3.4", "g:host-gateway", "v6:::1"}, Links: []string{"db:d"},
				OomScoreAdj: 1000, IpcMode: "private", PidMode: "", UTSMode: "", UsernsMode: "host", Isolation: "default",
				CgroupnsMode: "private", Runtime: "skiff"}},
		{name: "env", cfg: container.Config{Env: []string{"=x"}}, want: "invalid environment variable: =x"},
		{name: "empty env", cfg: container.Config{Env: []string{""}}, want: "invalid environment variable: "},
		{name: "interval", cfg: container.Config{Healthcheck: &container.HealthConfig{Interval: -5}},
			want: "Interval in Healthcheck cannot be less than 1ms"},
		{name: "timeout", cfg: container.Config{Healthcheck: &container.HealthConfig{Timeout: time.Microsecond}},
			want: "Timeout in Healthcheck cannot be less than 1ms"},
		{name: "retries", cfg: container.Config{Healthcheck: &container.HealthConfig{Retries: -1}},
			want: "Retries in Healthcheck cannot be negative"},
		{name: "start period", cfg: container.Config{Healthcheck: &container.HealthConfig{StartPeriod: -1}},
			want: "StartPeriod in Healthcheck cannot be less than 1ms"},
		{name: "start interval", cfg: container.Config{Healthcheck: &container.HealthConfig{StartInterval: 5}},
			want: "StartInterval in Healthcheck cannot be less than 1ms"},
		{name: "shm", hc: container.HostConfig{ShmSize: -1}, want: "SHM size can not be less than 0"},
		{name: "no ip", hc: container.HostConfig{ExtraHosts: []string{"noip"}}, want: `bad format for add-host: "noip"`},
		{name: "bad ip", hc: container.HostConfig{ExtraHosts: []string{"h:999.1.1.1"}}, want: `invalid IP address in add-host: "999.1.1.1"`},
		{name: "links", hc: container.HostConfig{Links: []string{"::"}}, want: "bad format for links: ::"},
		{name: "oom high", hc: container.HostConfig{OomScoreAdj: 5000}, want: "Invalid value 5000, range for oom score adj is [-1000, 1000]"},
		{name: "oom low", hc: container.HostConfig{OomScoreAdj: -5000}, want: "Invalid value -5000, range for oom score adj is [-1000, 1000]"},
		{name: "ipc", hc: container.HostConfig{IpcMode: "bogus"}, want: "invalid IPC mode: bogus"},
		{name: "pid", hc: container.HostConfig{PidMode: "bogus"}, want: "invalid PID mode: bogus"},
		{name: "pid container", hc: container.HostConfig{PidMode: "container:"}, want: "invalid PID mode: container:"},
		{name: "uts", hc: container.HostConfig{UTSMode: "bogus"}, want: "invalid UTS mode: bogus"},
		{name: "userns", hc: container.HostConfig{UsernsMode: "bogus"}, want: "invalid USER mode: bogus"},
		{name: "cgroupns", hc: container.HostConfig{CgroupnsMode: "bogus"}, want: "invalid cgroup namespace mode: bogus"},
		{name: "runtime", hc: container.HostConfig{Runtime: "bogus"}, want: "unknown or invalid runtime name: bogus"},
		{name: "runc", hc: container.HostConfig{Runtime: "runc"}},
		{name: "isolation", hc: container.HostConfig{Isolation: "hyperv"}, want: "invalid isolation (hyperv): linux only supports 'default'"},
		{name: "annotations", hc: container.HostConfig{Annotations: map[string]string{"": "x"}},
			want: "invalid Annotations: the empty string is not permitted as an annotation key"},
		// Modes Docker takes that skiff cannot honour.
		{name: "pid host", hc: container.HostConfig{PidMode: "host"},
			want: `PID mode "host" is not supported by skiff: the container would get a namespace of its own`},
		{name: "ipc container", hc: container.HostConfig{IpcMode: "container:web"},
			want: `IPC mode "container:web" is not supported by skiff: the container would get a namespace of its own`},
		// Control characters in what lands in /etc files.
		{name: "hostname", cfg: container.Config{Hostname: "a\nb"}, want: `invalid hostname "a\nb": control characters are not allowed`},
		{name: "domainname", cfg: container.Config{Domainname: "a\x00"}, want: `invalid domainname "a\x00": control characters are not allowed`},
		{name: "add-host", hc: container.HostConfig{ExtraHosts: []string{"h\nevil:1.2.3.4"}},
			want: `invalid add-host "h\nevil:1.2.3.4": control characters are not allowed`},
		{name: "dns-search", hc: container.HostConfig{DNSSearch: []string{"a\nnameserver 6.6.6.6"}},
			want: `invalid dns-search "a\nnameserver 6.6.6.6": control characters are not allowed`},
		{name: "dns-option", hc: container.HostConfig{DNSOptions: []string{"ndots:1\r"}},
			want: `invalid dns-option "ndots:1\r": control characters are not allowed`},
		{name: "link alias", hc: container.HostConfig{Links: []string{"db:a\nb"}},
			want: `invalid link "db:a\nb": control characters are not allowed`},
		{name: "alias", nc: network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"n": {Aliases: []string{"a\tb"}}}},
			want: `invalid config for network n: invalid alias "a\tb": control characters are not allowed`},
		{name: "endpoint link", nc: network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{"n": {Links: []string{"a:b:c"}}}},
			want: "invalid config for network n: bad format for links: a:b:c"},
	}
	for _, tt := range tests {
		err := validateConfig(&tt.cfg, &tt.hc, &tt.nc)
		if got := errString(err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestApplyMacAddress(t *testing.T) {
	tests := []struct {
		mac, mode string
		eps       map[string]*network.EndpointSettings
		want      string
		wantOn    string
	}{
		{"", "none", nil, "", ""},
		{"02:42:ac:11:00:99", "", nil, "", "bridge"},
		{"02:42:ac:11:00:99", "mynet", nil, "", "mynet"},
		{"02:42:ac:11:00:99", "mynet", map[string]*network.EndpointSettings{"mynet": nil}, "", "mynet"},
		{"02:42:ac:11:00:99", "default", map[string]*network.EndpointSettings{"default": {}}, "", "default"},
		// Docker's messages.
		{"zz", "", nil, "invalid config for network bridge: invalid MAC address zz", ""},
		{"02:42:ac:11:00:99", "none", nil, "conflicting options: mac-address and the network mode", ""},
		{"02:42:ac:11:00:99", "host", nil, "conflicting options: mac-address and the network mode", ""},
		{"02:42:ac:11:00:99", "container:web", nil, "conflicting options: mac-address and the network mode", ""},
		{"02:42:ac:11:00:99", "mynet", map[string]*network.EndpointSettings{"mynet": {MacAddress: network.HardwareAddr{2, 0, 0, 0, 0, 1}}},
			"the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty", ""},
	}
	for _, tt := range tests {
		hc := &container.HostConfig{NetworkMode: container.NetworkMode(tt.mode)}
		nc := &network.NetworkingConfig{EndpointsConfig: tt.eps}
		err := applyMacAddress(tt.mac, hc, nc)
		if got := errString(err); got != tt.want {
			t.Errorf("%q on %q: %q, want %q", tt.mac, tt.mode, got, tt.want)
			continue
		}
		if tt.wantOn != "" {
			if ep := nc.EndpointsConfig[tt.wantOn]; ep == nil || ep.MacAddress.String() != tt.mac {
				t.Errorf("%q on %q: endpoints %v", tt.mac, tt.mode, nc.EndpointsConfig)
			}
		}
	}
}

func TestParsePlatform(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  string
	}{
		{"linux/amd64", "linux/amd64", ""},
		{"linux/x86_64", "linux/amd64", ""},
		{"Linux/arm64/v8", "linux/arm64", ""},
		{"linux/arm/v7", "linux/arm/v7", ""},
		{"bogus/arch", "bogus/arch", ""},
		{"arm64", "linux/arm64", ""},
		// containerd's messages, which Docker answers with.
		{"bogus", "", `"bogus": unknown operating system or architecture: invalid argument`},
		{"a b/c", "", `"a b" is an invalid component of "a b/c": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument`},
		{"linux//amd64", "", `"" is an invalid component of "linux//amd64": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument`},
		{"a/b/c/d", "", `"a/b/c/d": cannot parse platform specifier: invalid argument`},
	}
	for _, tt := range tests {
		p, err := parsePlatform(tt.in)
		got := ""
		if p != nil {
			got = formatPlatform(*p)
		}
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("%q: %q %q, want %q %q", tt.in, got, errString(err), tt.want, tt.err)
		}
	}
}

func TestCheckPlatform(t *testing.T) {
	img := &images.Image{Config: v1.ConfigFile{OS: "linux", Architecture: "amd64"}}
	if err := checkPlatform(img, "busybox", nil); err != nil {
		t.Error(err)
	}
	if err := checkPlatform(img, "busybox", &v1.Platform{OS: "linux", Architecture: "amd64"}); err != nil {
		t.Error(err)
	}
	err := checkPlatform(img, "busybox", &v1.Platform{OS: "bogus", Architecture: "arch"})
	want := "image with reference busybox was found but its platform (linux/amd64) does not match the specified platform (bogus/arch)"
	if errString(err) != want || statusOf(err) != 404 {
		t.Errorf("%v (%d), want %q (404)", err, statusOf(err), want)
	}
}

func TestSysctlsOf(t *testing.T) {
	got := sysctlsOf(&container.Config{Domainname: "example.org"}, &container.HostConfig{Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}})
	if len(got) != 2 || got["kernel.domainname"] != "example.org" || got["net.ipv4.ip_forward"] != "1" {
		t.Errorf("got %v", got)
	}
	if got := sysctlsOf(&container.Config{}, &container.HostConfig{}); got != nil {
		t.Errorf("got %v, want none", got)
	}
}

// -v values through the engine's parser: Docker's daemon messages.
func TestParseBind(t *testing.T) {
	for spec, want := range map[string]string{
		"/h:/c:ro,rw":    "invalid mode: ro,rw",
		"/h:/c:rw,rw":    "invalid mode: rw,rw",
		"/foo:ro":        "invalid volume specification: '/foo:ro'",
		"bad@name:/c":    `create bad@name: "bad@name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
		"/h:/c:cached":   "",
		"vol:/c:nocopy":  "",
		"/h:/c:rshared":  "",
		"/anonymous/vol": "",
	} {
		mp, err := parseBind(spec)
		if got := errString(err); got != want {
			t.Errorf("%q: %q, want %q", spec, got, want)
		} else if err == nil && mp.Destination == "" {
			t.Errorf("%q: no destination: %+v", spec, mp)
		}
	}
}
