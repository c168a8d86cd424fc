package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// networkList is what the fake engine lists; docker 28.2.2 printed the
// expectations below for the same list.
const networkList = `[
 {"Name":"bridge","Id":"` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `","Created":"2024-01-02T03:04:05.123456789Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"Internal":false,"Labels":{}},
 {"Name":"net10","Id":"` + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" + `","Created":"2024-01-02T03:04:05Z","Scope":"local","Driver":"bridge","EnableIPv6":true,"Internal":true,"Labels":{"b":"2","a":"1"}},
 {"Name":"net2","Id":"` + "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" + `","Created":"2024-01-02T03:04:05Z","Scope":"local","Driver":"bridge","Labels":null},
 {"Name":"host","Id":"` + "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" + `","Created":"2024-01-02T03:04:05Z","Scope":"local","Driver":"host"}
]`

func TestNetworkLs(t *testing.T) {
	tests := []struct {
		name string
		o    NetworkLsOptions
		want string
	}{
		{
			name: "table, sorted by name as docker sorts",
			want: "NETWORK ID     NAME      DRIVER    SCOPE\n" +
				"aaaaaaaaaaaa   bridge    bridge    local\n" +
				"dddddddddddd   host      host      local\n" +
				"cccccccccccc   net2      bridge    local\n" +
				"bbbbbbbbbbbb   net10     bridge    local\n",
		},
		{
			name: "table keyword, quiet",
			o:    NetworkLsOptions{Format: "table", Quiet: true},
			want: "aaaaaaaaaaaa\ndddddddddddd\ncccccccccccc\nbbbbbbbbbbbb\n",
		},
		{
			name: "quiet, no-trunc",
			o:    NetworkLsOptions{Quiet: true, NoTrunc: true},
			want: strings.Repeat("a", 64) + "\n" + strings.Repeat("d", 64) + "\n" + strings.Repeat("c", 64) + "\n" + strings.Repeat("b", 64) + "\n",
		},
		{
			name: "a template wins over quiet",
			o:    NetworkLsOptions{Quiet: true, Format: "{{.Name}}"},
			want: "bridge\nhost\nnet2\nnet10\n",
		},
		{
			name: "template with every field",
			o:    NetworkLsOptions{Format: `{{.ID}} {{.Name}} {{.IPv4}} {{.IPv6}} {{.Internal}} {{.Labels}} {{.CreatedAt}} {{.Label "a"}}`},
			want: "aaaaaaaaaaaa bridge true false false  2024-01-02 03:04:05.123456789 +0000 UTC \n" +
				"dddddddddddd host false false false  2024-01-02 03:04:05 +0000 UTC \n" +
				"cccccccccccc net2 false false false  2024-01-02 03:04:05 +0000 UTC \n" +
				"bbbbbbbbbbbb net10 false true true a=1,b=2 2024-01-02 03:04:05 +0000 UTC 1\n",
		},
		{
			name: "table template",
			o:    NetworkLsOptions{Format: `table {{.Name}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}`},
			want: "NAME      IPV6      INTERNAL   LABELS    CREATED AT\n" +
				"bridge    false     false                2024-01-02 03:04:05.123456789 +0000 UTC\n" +
				"host      false     false                2024-01-02 03:04:05 +0000 UTC\n" +
				"net2      false     false                2024-01-02 03:04:05 +0000 UTC\n" +
				"net10     true      true       a=1,b=2   2024-01-02 03:04:05 +0000 UTC\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, out, _ := newTestCLI(t, map[string]http.HandlerFunc{"GET /networks": replyRaw(networkList)})
			if err := c.NetworkLs(context.Background(), tt.o); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

func TestNetworkLsJSON(t *testing.T) {
	want := `{"CreatedAt":"2024-01-02 03:04:05 +0000 UTC","Driver":"bridge","ID":"bbbbbbbbbbbb","IPv4":"false","IPv6":"true","Internal":"true","Labels":"a=1,b=2","Name":"net10","Scope":"local"}`
	for _, format := range []string{"json", "{{json .}}"} {
		c, _, out, _ := newTestCLI(t, map[string]http.HandlerFunc{"GET /networks": replyRaw(networkList)})
		if err := c.NetworkLs(context.Background(), NetworkLsOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 4 || lines[3] != want {
			t.Errorf("--format %s: %q, want 4 lines, the last %s", format, lines, want)
		}
	}
}

func TestNetworkLsFilters(t *testing.T) {
	c, engine, _, _ := newTestCLI(t, map[string]http.HandlerFunc{"GET /networks": replyRaw("[]")})
	err := c.NetworkLs(context.Background(), NetworkLsOptions{Filters: []string{"driver=bridge", "label=a=b", "type=custom", "dangling=true"}})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery(engine.request(t, "GET /networks").Query)
	var got map[string]map[string]bool
	if err := json.Unmarshal([]byte(q.Get("filters")), &got); err != nil {
		t.Fatalf("filters %q: %v", q.Get("filters"), err)
	}
	want := map[string]map[string]bool{"driver": {"bridge": true}, "label": {"a=b": true}, "type": {"custom": true}, "dangling": {"true": true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("filters = %v, want %v", got, want)
	}
	err = c.NetworkLs(context.Background(), NetworkLsOptions{Filters: []string{"bad"}})
	wantStatus(t, err, 1, "bad format of filter (expected name=value)")
}

const net1 = `{"Name":"net1","Id":"eeee","Created":"2024-01-02T03:04:05Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,` +
	`"IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"10.1.0.0/16","Gateway":"10.1.0.1"}]},"Internal":false,"Attachable":false,` +
	`"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{},"Options":{},"Labels":{"a<b":"&"}}`

func TestNetworkInspect(t *testing.T) {
	routes := map[string]http.HandlerFunc{
		"GET /networks/net1":    replyRaw(net1),
		"GET /networks/missing": notFound("network missing not found"),
	}
	const notFoundMsg = "Error response from daemon: network missing not found"
	tests := []struct {
		name    string
		names   []string
		format  string
		want    string
		errCode int
		errMsg  string
	}{
		{
			name: "indented as docker does, the engine's field order, no HTML escaping",
			// The fields are abbreviated here by the engine's own
			// order; what matters is the 4-space indentation.
			names: []string{"net1"},
			want: "[\n    {\n        \"Name\": \"net1\",\n        \"Id\": \"eeee\",\n        \"Created\": \"2024-01-02T03:04:05Z\",\n" +
				"        \"Scope\": \"local\",\n        \"Driver\": \"bridge\",\n        \"EnableIPv4\": true,\n        \"EnableIPv6\": false,\n" +
				"        \"IPAM\": {\n            \"Driver\": \"default\",\n            \"Options\": null,\n            \"Config\": [\n" +
				"                {\n                    \"Subnet\": \"10.1.0.0/16\",\n                    \"Gateway\": \"10.1.0.1\"\n" +
				"                }\n            ]\n        },\n        \"Internal\": false,\n        \"Attachable\": false,\n" +
				"        \"Ingress\": false,\n        \"ConfigFrom\": {\n            \"Network\": \"\"\n        },\n        \"ConfigOnly\": false,\n" +
				"        \"Containers\": {},\n        \"Options\": {},\n        \"Labels\": {\n            \"a<b\": \"&\"\n        }\n    }\n]\n",
		},
		{name: "missing only", names: []string{"missing"}, want: "[]\n", errCode: 1, errMsg: notFoundMsg},
		{name: "a template on a missing one prints an empty line", names: []string{"missing"}, format: "{{.Name}}", want: "\n", errCode: 1, errMsg: notFoundMsg},
		{
			name: "template on the typed network, found ones first, then the errors", names: []string{"missing", "net1", "missing"},
			format: "{{.Name}} {{.Created}} {{len .IPAM.Config}}", want: "net1 2024-01-02 03:04:05 +0000 UTC 1\n",
			errCode: 1, errMsg: notFoundMsg + "\n" + notFoundMsg,
		},
		{name: "json", names: []string{"net1"}, format: "json", want: "[" + net1 + "]\n"},
		{name: "template function", names: []string{"net1"}, format: "{{json .IPAM}}", want: `{"Driver":"default","Options":null,"Config":[{"Subnet":"10.1.0.0/16","Gateway":"10.1.0.1"}]}` + "\n"},
		{
			name: "a field that is nowhere", names: []string{"net1"}, format: "{{.Nope}}", want: "\n", errCode: 1,
			errMsg: `template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"`,
		},
		{name: "a template that does not parse", names: []string{"net1"}, format: "{{", errCode: 64, errMsg: "template parsing error: template: :1: unclosed action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, out, _ := newTestCLI(t, routes)
			err := c.NetworkInspect(context.Background(), tt.names, tt.format, false)
			if tt.errCode != 0 {
				wantStatus(t, err, tt.errCode, tt.errMsg)
			} else if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("output:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

func TestNetworkRm(t *testing.T) {
	routes := map[string]http.HandlerFunc{
		"DELETE /networks/n1":      reply(http.StatusNoContent, nil),
		"DELETE /networks/n2":      reply(http.StatusNoContent, nil),
		"DELETE /networks/missing": notFound("network missing not found"),
		"DELETE /networks/busy":    reply(http.StatusForbidden, map[string]string{"message": "error while removing network: network busy has active endpoints"}),
	}
	c, _, out, errOut := newTestCLI(t, routes)
	err := c.NetworkRm(context.Background(), []string{"n1", "missing", "n2"}, false)
	wantStatus(t, err, 1, "exit status 1")
	if out.String() != "n1\nn2\n" || errOut.String() != "Error response from daemon: network missing not found\n" {
		t.Errorf("out %q, err %q", out, errOut)
	}

	c, _, out, errOut = newTestCLI(t, routes)
	if err := c.NetworkRm(context.Background(), []string{"missing", "n1"}, true); err != nil {
		t.Errorf("rm -f of a missing network: %v", err)
	}
	if out.String() != "n1\n" || errOut.String() != "" {
		t.Errorf("rm -f: out %q, err %q", out, errOut)
	}

	c, _, _, errOut = newTestCLI(t, routes)
	err = c.NetworkRm(context.Background(), []string{"busy"}, true)
	wantStatus(t, err, 1, "exit status 1")
	if !strings.Contains(errOut.String(), "has active endpoints") {
		t.Errorf("rm -f of a network in use: err %q", errOut)
	}
}

func TestNetworkPrune(t *testing.T) {
	c, engine, out, _ := newTestCLI(t, map[string]http.HandlerFunc{
		"POST /networks/prune": reply(200, map[string]any{"NetworksDeleted": []string{"n1", "n2"}}),
	})
	if err := c.NetworkPrune(context.Background(), []string{"until=24h", "label=a"}); err != nil {
		t.Fatal(err)
	}
	if want := "Deleted Networks:\nn1\nn2\n\n"; out.String() != want {
		t.Errorf("output %q, want %q", out, want)
	}
	q, _ := url.ParseQuery(engine.request(t, "POST /networks/prune").Query)
	if got := q.Get("filters"); got != `{"label":{"a":true},"until":{"24h":true}}` {
		t.Errorf("filters = %s", got)
	}

	c, _, out, _ = newTestCLI(t, map[string]http.HandlerFunc{"POST /networks/prune": reply(200, map[string]any{"NetworksDeleted": nil})})
	if err := c.NetworkPrune(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Errorf("nothing pruned: output %q, want none", out)
	}
}

func TestNetworkCreate(t *testing.T) {
	ipv6 := true
	o := NetworkCreateOptions{
		Driver: "bridge", IPAMDriver: "default", Internal: true, Attachable: true, IPv6: &ipv6,
		Subnets: []string{"10.1.0.0/16", "10.2.0.0/16"}, Gateways: []string{"10.1.0.1"}, IPRanges: []string{"10.1.1.0/24"},
		AuxAddresses: []string{"a=10.2.0.9"}, Labels: []string{"x=1", "y"}, Options: []string{"com.docker.network.bridge.name=br1"},
	}
	req, err := o.Request()
	if err != nil {
		t.Fatal(err)
	}
	c, engine, out, _ := newTestCLI(t, map[string]http.HandlerFunc{
		"POST /networks/create": reply(201, map[string]string{"Id": "beef", "Warning": ""}),
	})
	if err := c.NetworkCreate(context.Background(), "n1", req); err != nil {
		t.Fatal(err)
	}
	if out.String() != "beef\n" {
		t.Errorf("output %q, want the ID", out)
	}
	// What docker 28.2.2 sends for the same flags (its subnets in map order).
	want := `{"Name":"n1","Driver":"bridge","Scope":"","EnableIPv6":true,"IPAM":{"Driver":"default","Options":{},"Config":[` +
		`{"Subnet":"10.1.0.0/16","IPRange":"10.1.1.0/24","Gateway":"10.1.0.1"},{"Subnet":"10.2.0.0/16","AuxiliaryAddresses":{"a":"10.2.0.9"}}]},` +
		`"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,` +
		`"Options":{"com.docker.network.bridge.name":"br1"},"Labels":{"x":"1","y":""}}`
	if got := strings.TrimSpace(string(engine.request(t, "POST /networks/create").Body)); got != want {
		t.Errorf("request:\n%s\nwant\n%s", got, want)
	}

	// The defaults: no IPAM config, IPv4 and IPv6 left to the engine.
	req, err = NetworkCreateOptions{Driver: "bridge", IPAMDriver: "default"}.Request()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(req.IPAM)
	if string(b) != `{"Driver":"default","Options":{},"Config":[]}` || req.EnableIPv4 != nil || req.EnableIPv6 != nil {
		t.Errorf("defaults: IPAM %s, EnableIPv4 %v, EnableIPv6 %v", b, req.EnableIPv4, req.EnableIPv6)
	}
}

// The messages are docker 28.2.2's.
func TestNetworkCreateErrors(t *testing.T) {
	tests := []struct {
		o    NetworkCreateOptions
		want string
	}{
		{NetworkCreateOptions{Gateways: []string{"10.1.0.1"}}, "every ip-range or gateway must have a corresponding subnet"},
		{NetworkCreateOptions{Subnets: []string{"10.1.0.0/16"}, Gateways: []string{"10.9.0.1"}}, "no matching subnet for gateway 10.9.0.1"},
		{NetworkCreateOptions{Subnets: []string{"10.1.0.0/16"}, Gateways: []string{"bad"}}, "no matching subnet for gateway bad"},
		{NetworkCreateOptions{Subnets: []string{"10.1.0.0/16"}, IPRanges: []string{"10.9.0.0/24"}}, "no matching subnet for range 10.9.0.0/24"},
		{NetworkCreateOptions{Subnets: []string{"10.1.0.0/16"}, IPRanges: []string{"bad"}}, "invalid CIDR address: bad"},
		{NetworkCreateOptions{Subnets: []string{"10.1.0.0/16", "10.1.2.0/24"}}, "multiple overlapping subnet configuration is not supported"},
		{
			NetworkCreateOptions{Subnets: []string{"10.1.0.0/16", "10.2.0.0/16"}, Gateways: []string{"10.1.0.1", "10.1.0.2"}},
			"cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/16)",
		},
		{
			NetworkCreateOptions{Subnets: []string{"10.1.0.0/16", "10.3.0.0/16"}, IPRanges: []string{"10.1.1.0/24", "10.1.2.0/24"}},
			"cannot configure multiple ranges (10.1.2.0/24, 10.1.1.0/24) on the same subnet (10.1.0.0/16)",
		},
		{NetworkCreateOptions{Subnets: []string{"10.1.0.0/16"}, AuxAddresses: []string{"a=10.9.0.1"}}, "no matching subnet for aux-address 10.9.0.1"},
		{NetworkCreateOptions{Subnets: []string{"10.1.0.0/16"}, AuxAddresses: []string{"a"}}, "no matching subnet for aux-address "},
		{NetworkCreateOptions{Labels: []string{""}}, `invalid argument "" for "--label" flag: invalid label '': empty name`},
	}
	for _, tt := range tests {
		if _, err := tt.o.Request(); err == nil || err.Error() != tt.want {
			t.Errorf("Request(%+v) error = %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestNetworkConnect(t *testing.T) {
	ep, err := NetworkConnectOptions{
		Aliases: []string{"a", "b"}, IPv4: "10.1.0.9", IPv6: "fd00::9", Links: []string{"web:w"},
		DriverOpts: []string{"k=v", " K2 = V2 "},
	}.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	c, engine, _, _ := newTestCLI(t, map[string]http.HandlerFunc{"POST /networks/net1/connect": reply(200, nil)})
	if err := c.NetworkConnect(context.Background(), "net1", "ctr", ep); err != nil {
		t.Fatal(err)
	}
	var got network.ConnectRequest
	if err := json.Unmarshal(engine.request(t, "POST /networks/net1/connect").Body, &got); err != nil {
		t.Fatal(err)
	}
	want := network.ConnectRequest{Container: "ctr", EndpointConfig: &network.EndpointSettings{
		IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: mustAddr("10.1.0.9"), IPv6Address: mustAddr("fd00::9")},
		Links:      []string{"web:w"}, Aliases: []string{"a", "b"}, DriverOpts: map[string]string{"k": "v", "K2": "V2"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request = %+v\nwant %+v", got.EndpointConfig, want.EndpointConfig)
	}

	// Nothing given: docker still sends an empty IPAMConfig, alias list and options.
	ep, err = NetworkConnectOptions{}.Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ep)
	if !strings.HasPrefix(string(b), `{"IPAMConfig":{},"Links":null,"Aliases":[],"DriverOpts":{},"GwPriority":0,`) {
		t.Errorf("empty endpoint = %s", b)
	}

	for o, want := range map[*NetworkConnectOptions]string{
		{DriverOpts: []string{"bad"}}: "invalid key/value pair format in driver options",
		{IPv4: "bad"}:                 `invalid argument "bad" for "--ip" flag: failed to parse IP: "bad"`,
		{Links: []string{"a:b:c"}}:    `invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c`,
	} {
		if _, err := o.Endpoint(); err == nil || err.Error() != want {
			t.Errorf("Endpoint(%+v) error = %v, want %q", *o, err, want)
		}
	}
}

func TestNetworkDisconnect(t *testing.T) {
	c, engine, _, _ := newTestCLI(t, map[string]http.HandlerFunc{"POST /networks/net1/disconnect": reply(200, nil)})
	if err := c.NetworkDisconnect(context.Background(), "net1", "ctr", true); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(engine.request(t, "POST /networks/net1/disconnect").Body)); got != `{"Container":"ctr","Force":true}` {
		t.Errorf("request %s", got)
	}
}

// Create sends the endpoint settings, and warns about a localhost DNS
// server as docker does.
func TestCreateNetworkingConfig(t *testing.T) {
	c, engine, _, errOut := newTestCLI(t, map[string]http.HandlerFunc{
		"POST /containers/create": reply(201, map[string]any{"Id": "c0ffee", "Warnings": []string{}}),
	})
	cfg, hc := &container.Config{Image: "busybox"}, &container.HostConfig{}
	nc, err := NetworkOptions{Networks: []string{"mynet"}, IP: "10.1.0.5", Publish: []string{"8080:80"}, DNS: []string{"127.0.0.53"}}.Apply(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Create(context.Background(), RunOptions{Config: cfg, HostConfig: hc, NetworkingConfig: nc})
	if err != nil || id != "c0ffee" {
		t.Fatalf("Create = %q, %v", id, err)
	}
	var sent struct {
		ExposedPorts     map[string]any
		HostConfig       struct{ NetworkMode string }
		NetworkingConfig struct {
			EndpointsConfig map[string]struct{ IPAMConfig struct{ IPv4Address string } }
		}
	}
	if err := json.Unmarshal(engine.request(t, "POST /containers/create").Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.HostConfig.NetworkMode != "mynet" || sent.NetworkingConfig.EndpointsConfig["mynet"].IPAMConfig.IPv4Address != "10.1.0.5" ||
		len(sent.ExposedPorts) != 1 {
		t.Errorf("sent %+v", sent)
	}
	if want := "WARNING: Localhost DNS setting (--dns=127.0.0.53) may fail in containers.\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}
