package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/skiff-dev/skiff/cli"
	"github.com/spf13/pflag"
)

// The network flags reach the API's configuration; --net and --network,
// --net-alias and --network-alias, --dns-opt and --dns-option each share
// one list, in the order given.
func TestRunNetworkFlags(t *testing.T) {
	var f runFlags
	fs := pflag.NewFlagSet("create", pflag.ContinueOnError)
	f.register(fs, false)
	args := []string{
		"--net", "mynet", "--network", "other", "--network-alias", "a", "--net-alias", "b",
		"--dns-opt", "ndots:2", "--dns-option", "timeout:1", "-p", "8080:80", "-P", "--expose", "90/udp",
		"--ip", "10.1.0.5", "--link", "web:w", "busybox",
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	opt, err := f.options(fs, fs.Args())
	if err != nil {
		t.Fatal(err)
	}
	hc := opt.HostConfig
	if hc.NetworkMode != "mynet" || !hc.PublishAllPorts || len(hc.PortBindings) != 1 || len(opt.Config.ExposedPorts) != 2 {
		t.Errorf("HostConfig: NetworkMode %q, PublishAllPorts %v, PortBindings %v, ExposedPorts %v",
			hc.NetworkMode, hc.PublishAllPorts, hc.PortBindings, opt.Config.ExposedPorts)
	}
	if want := []string{"ndots:2", "timeout:1"}; !reflect.DeepEqual(hc.DNSOptions, want) {
		t.Errorf("DNSOptions = %q, want %q", hc.DNSOptions, want)
	}
	if want := []string{"web:w"}; !reflect.DeepEqual(hc.Links, want) {
		t.Errorf("Links = %q, want %q", hc.Links, want)
	}
	eps := opt.NetworkingConfig.EndpointsConfig
	if len(eps) != 2 || eps["other"] == nil || eps["mynet"] == nil {
		t.Fatalf("EndpointsConfig = %v, want mynet and other", eps)
	}
	if ep := eps["mynet"]; !reflect.DeepEqual(ep.Aliases, []string{"a", "b"}) || ep.IPAMConfig.IPv4Address.String() != "10.1.0.5" ||
		!reflect.DeepEqual(ep.Links, []string{"web:w"}) {
		t.Errorf("mynet endpoint = %+v", ep)
	}
}

// A value a flag refuses is a *cli.FlagError, which execute prints with
// the usage as docker does.
func TestRunFlagErrors(t *testing.T) {
	var f runFlags
	fs := pflag.NewFlagSet("create", pflag.ContinueOnError)
	f.register(fs, false)
	if err := fs.Parse([]string{"--add-host", "nocolon", "busybox"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.options(fs, fs.Args())
	var fe *cli.FlagError
	if !errors.As(err, &fe) || err.Error() != `invalid argument "nocolon" for "--add-host" flag: bad format for add-host: "nocolon"` {
		t.Errorf("error = %#v", err)
	}
}
