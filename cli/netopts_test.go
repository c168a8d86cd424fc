package cli

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// endpointsJSON is the NetworkingConfig as sent, without the empty fields,
// to compare with what docker 28.2.2 sends for the same flags.
func endpointsJSON(t *testing.T, nc *network.NetworkingConfig) string {
	t.Helper()
	b, err := json.Marshal(nc)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ EndpointsConfig map[string]map[string]any }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, ep := range v.EndpointsConfig {
		for k, f := range ep {
			if f == nil || f == "" || f == 0.0 {
				delete(ep, k)
			}
		}
	}
	out, _ := json.Marshal(v.EndpointsConfig)
	return string(out)
}

func TestNetworkOptionsApply(t *testing.T) {
	tests := []struct {
		name      string
		o         NetworkOptions
		mode      container.NetworkMode
		endpoints string
		links     []string
	}{
		{name: "no flags", mode: "default", endpoints: `{"default":{}}`},
		{
			name: "options without --network go to default",
			o:    NetworkOptions{IP: "10.1.0.5", Links: []string{"web:w"}, MacAddress: "02:42:ac:11:00:02"},
			mode: "default", links: []string{"web:w"},
			endpoints: `{"default":{"IPAMConfig":{"IPv4Address":"10.1.0.5"},"MacAddress":"02:42:ac:11:00:02"}}`,
		},
		{name: "one network, no options", o: NetworkOptions{Networks: []string{"mynet"}}, mode: "mynet", endpoints: `{}`},
		{name: "host", o: NetworkOptions{Networks: []string{"host"}}, mode: "host", endpoints: `{}`},
		{
			name: "user network with options",
			o: NetworkOptions{
				Networks: []string{"mynet"}, IP: "10.1.0.5", IP6: "fd00::5", Aliases: []string{"a", "b"},
				Links: []string{"web", "db:database"}, MacAddress: "02:42:ac:11:00:02",
			},
			mode: "mynet", links: []string{"web", "db:database"},
			endpoints: `{"mynet":{"Aliases":["a","b"],"IPAMConfig":{"IPv4Address":"10.1.0.5","IPv6Address":"fd00::5"},` +
				`"Links":["web","db:database"],"MacAddress":"02:42:ac:11:00:02"}}`,
		},
		{
			name: "on bridge a link is legacy, in HostConfig only",
			o:    NetworkOptions{Networks: []string{"bridge"}, IP: "10.1.0.5", Links: []string{"web:w"}},
			mode: "bridge", links: []string{"web:w"},
			endpoints: `{"bridge":{"IPAMConfig":{"IPv4Address":"10.1.0.5"}}}`,
		},
		{
			name: "two networks: the first is the mode",
			o:    NetworkOptions{Networks: []string{"mynet", "other"}},
			mode: "mynet", endpoints: `{"mynet":{},"other":{}}`,
		},
		{
			name: "long form",
			o:    NetworkOptions{Networks: []string{"name=MyNet,alias=x,ip=10.0.0.3,driver-opt=k=v,gw-priority=2", "other"}},
			mode: "mynet",
			endpoints: `{"mynet":{"Aliases":["x"],"DriverOpts":{"k":"v"},"GwPriority":2,"IPAMConfig":{"IPv4Address":"10.0.0.3"}},` +
				`"other":{}}`,
		},
		{
			name: "link-local",
			o:    NetworkOptions{Networks: []string{"n"}, LinkLocalIPs: []string{"169.254.1.1"}},
			mode: "n", endpoints: `{"n":{"IPAMConfig":{"LinkLocalIPs":["169.254.1.1"]}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, hc := &container.Config{}, &container.HostConfig{}
			nc, err := tt.o.Apply(cfg, hc)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if hc.NetworkMode != tt.mode {
				t.Errorf("NetworkMode = %q, want %q", hc.NetworkMode, tt.mode)
			}
			if got := endpointsJSON(t, nc); got != tt.endpoints {
				t.Errorf("EndpointsConfig =\n  %s\nwant\n  %s", got, tt.endpoints)
			}
			if !reflect.DeepEqual(hc.Links, tt.links) {
				t.Errorf("Links = %q, want %q", hc.Links, tt.links)
			}
		})
	}
}

func TestNetworkOptionsApplyHostConfig(t *testing.T) {
	o := NetworkOptions{
		Publish: []string{"8080:80"}, PublishAll: true, Expose: []string{"90/udp"},
		DNS: []string{"8.8.8.8", "0:0::1"}, DNSSearch: []string{"example.com.", "."}, DNSOptions: []string{"ndots:2"},
		ExtraHosts: []string{"a:1.2.3.4", "b=::1", "c:host-gateway", "d=[::2]", "e:::3"},
	}
	cfg, hc := &container.Config{}, &container.HostConfig{}
	if _, err := o.Apply(cfg, hc); err != nil {
		t.Fatal(err)
	}
	if want := portSet("80/tcp", "90/udp"); !reflect.DeepEqual(cfg.ExposedPorts, want) {
		t.Errorf("ExposedPorts = %v, want %v", cfg.ExposedPorts, want)
	}
	if want := (network.PortMap{port("80/tcp"): {binding("", "8080")}}); !reflect.DeepEqual(hc.PortBindings, want) {
		t.Errorf("PortBindings = %v, want %v", hc.PortBindings, want)
	}
	if !hc.PublishAllPorts {
		t.Error("PublishAllPorts = false")
	}
	if want := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("::1")}; !reflect.DeepEqual(hc.DNS, want) {
		t.Errorf("DNS = %v, want %v", hc.DNS, want)
	}
	if want := []string{"example.com", "."}; !reflect.DeepEqual(hc.DNSSearch, want) {
		t.Errorf("DNSSearch = %q, want %q", hc.DNSSearch, want)
	}
	if want := []string{"ndots:2"}; !reflect.DeepEqual(hc.DNSOptions, want) {
		t.Errorf("DNSOptions = %q, want %q", hc.DNSOptions, want)
	}
	if want := []string{"a:1.2.3.4", "b:::1", "c:host-gateway", "d:::2", "e:::3"}; !reflect.DeepEqual(hc.ExtraHosts, want) {
		t.Errorf("ExtraHosts = %q, want %q", hc.ExtraHosts, want)
	}

	// docker sends empty lists, not null, for the DNS settings.
	hc = &container.HostConfig{}
	if _, err := (NetworkOptions{}).Apply(&container.Config{}, hc); err != nil {
		t.Fatal(err)
	}
	if hc.DNS == nil || hc.DNSSearch == nil || hc.DNSOptions == nil || hc.ExtraHosts != nil || hc.Links != nil {
		t.Errorf("empty flags: DNS %#v, DNSSearch %#v, DNSOptions %#v, ExtraHosts %#v, Links %#v",
			hc.DNS, hc.DNSSearch, hc.DNSOptions, hc.ExtraHosts, hc.Links)
	}
}

// The messages are docker 28.2.2's; flag values it refuses while parsing
// are *FlagError, printed with the usage.
func TestNetworkOptionsApplyErrors(t *testing.T) {
	tests := []struct {
		name   string
		o      NetworkOptions
		want   string
		isFlag bool
	}{
		{"alias on default", NetworkOptions{Aliases: []string{"x"}}, "network-scoped aliases are only supported for user-defined networks", false},
		{"alias on bridge", NetworkOptions{Networks: []string{"bridge"}, Aliases: []string{"x"}}, "network-scoped aliases are only supported for user-defined networks", false},
		{"user-defined and not", NetworkOptions{Networks: []string{"mynet", "bridge"}}, "conflicting options: cannot attach both user-defined and non-user-defined network-modes", false},
		{"twice", NetworkOptions{Networks: []string{"mynet", "mynet"}}, `network "mynet" is specified multiple times`, false},
		{"alias both ways", NetworkOptions{Networks: []string{"name=n,alias=x"}, Aliases: []string{"y"}}, "conflicting options: cannot specify both --network-alias and per-network alias", false},
		{"ip both ways", NetworkOptions{Networks: []string{"name=n,ip=10.0.0.1"}, IP: "10.0.0.2"}, "conflicting options: cannot specify both --ip and per-network IPv4 address", false},
		{"bad mac", NetworkOptions{MacAddress: "zz"}, "zz is not a valid mac address", false},
		{"bad publish", NetworkOptions{Publish: []string{"99999:80"}}, "invalid hostPort: 99999", false},
		{"bad expose", NetworkOptions{Expose: []string{"80:90"}}, "invalid port format for --expose: 80:90", false},
		{"bad ip", NetworkOptions{IP: "1.2.3"}, `invalid argument "1.2.3" for "--ip" flag: failed to parse IP: "1.2.3"`, true},
		{"bad link", NetworkOptions{Links: []string{"a:b:c"}}, `invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c`, true},
		{"empty link", NetworkOptions{Links: []string{""}}, `invalid argument "" for "--link" flag: empty string specified for links`, true},
		{"bad dns", NetworkOptions{DNS: []string{"bad"}}, `invalid argument "bad" for "--dns" flag: IP address is not correctly formatted: bad`, true},
		{"bad dns-search", NetworkOptions{DNSSearch: []string{"123"}}, `invalid argument "123" for "--dns-search" flag: 123 is not a valid domain`, true},
		{"bad add-host ip", NetworkOptions{ExtraHosts: []string{"a:bad"}}, `invalid argument "a:bad" for "--add-host" flag: invalid IP address in add-host: "bad"`, true},
		{"add-host without name", NetworkOptions{ExtraHosts: []string{":1.2.3.4"}}, `invalid argument ":1.2.3.4" for "--add-host" flag: bad format for add-host: ":1.2.3.4"`, true},
		{"add-host without ip", NetworkOptions{ExtraHosts: []string{"a"}}, `invalid argument "a" for "--add-host" flag: bad format for add-host: "a"`, true},
		{"long form, unknown key", NetworkOptions{Networks: []string{"name=x,bogus=1"}}, `invalid argument "name=x,bogus=1" for "--network" flag: invalid field key bogus`, true},
		{"long form, no name", NetworkOptions{Networks: []string{"alias=x"}}, `invalid argument "alias=x" for "--network" flag: network name/id is not specified`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.o.Apply(&container.Config{}, &container.HostConfig{})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Apply error = %v, want %q", err, tt.want)
			}
			var fe *FlagError
			if errors.As(err, &fe) != tt.isFlag {
				t.Errorf("error is a *FlagError: %v, want %v", !tt.isFlag, tt.isFlag)
			}
		})
	}
}

func TestValidateDNSSearch(t *testing.T) {
	for in, want := range map[string]string{".": ".", "example.com": "example.com", "example.com.": "example.com", " a.b ": "a.b"} {
		if got, err := validateDNSSearch(in); err != nil || got != want {
			t.Errorf("validateDNSSearch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"123", "-a.com", "a..b", ""} {
		if got, err := validateDNSSearch(in); err == nil {
			t.Errorf("validateDNSSearch(%q) = %q, want an error", in, got)
		}
	}
}
