package main

import (
	"errors"
	"io"
	"os"
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

// Bad values of run and create's flags, refused before anything is sent,
// with docker CLI 28's messages (checked against it): flag errors print
// with the usage (*cli.FlagError), the others as "skiff: MESSAGE".
func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	envFile := func(name, content string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noName, space, badUTF8 := envFile("noname", "=x\n"), envFile("space", "A B=1\n"), envFile("utf8", "A=\xff\xfe\n")
	tests := []struct {
		args    []string
		want    string
		flagErr bool
	}{
		{[]string{"--memory", ""}, `invalid argument "" for "-m, --memory" flag: invalid size: ''`, true},
		{[]string{"-m", "abc"}, `invalid argument "abc" for "-m, --memory" flag: invalid size: 'abc'`, true},
		{[]string{"--memory", "-5"}, `invalid argument "-5" for "-m, --memory" flag: invalid size: '-5'`, true},
		{[]string{"--memory-swap", ""}, `invalid argument "" for "--memory-swap" flag: invalid size: ''`, true},
		{[]string{"--shm-size", ""}, `invalid argument "" for "--shm-size" flag: invalid size: ''`, true},
		{[]string{"--cpus", ""}, `invalid argument "" for "--cpus" flag: failed to parse  as a rational number`, true},
		{[]string{"--cpus", "abc"}, `invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number`, true},
		{[]string{"--cpus", "1e-20"}, `invalid argument "1e-20" for "--cpus" flag: value is too precise`, true},
		{[]string{"--cpus", "1.0000000001"}, `invalid argument "1.0000000001" for "--cpus" flag: value is too precise`, true},
		{[]string{"-e", "=x"}, `invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x`, true},
		{[]string{"-e", ""}, `invalid argument "" for "-e, --env" flag: invalid environment variable: `, true},
		{[]string{"--env-file", noName}, "invalid env file (" + noName + "): no variable name on line '=x'", false},
		{[]string{"--env-file", space}, "invalid env file (" + space + "): variable 'A B' contains whitespaces", false},
		{[]string{"--env-file", badUTF8}, "invalid env file (" + badUTF8 + "): invalid utf8 bytes at line 1: [65 61 255 254]", false},
		{[]string{"--env-file", dir + "/nonexist"}, "open " + dir + "/nonexist: no such file or directory", false},
		{[]string{"-v", "/a::/b"}, "invalid spec: /a::/b: empty section between colons", false},
		{[]string{"-v", "/a:/b:ro:x"}, "invalid spec: /a:/b:ro:x: too many colons", false},
		{[]string{"--log-driver", "none", "--log-opt", "max-size=1m"}, "invalid logging opts for driver none", false},
		{[]string{"--add-host", "h:999.1.1.1"}, `invalid argument "h:999.1.1.1" for "--add-host" flag: invalid IP address in add-host: "999.1.1.1"`, true},
		{[]string{"--link", "::"}, `invalid argument "::" for "--link" flag: bad format for links: ::`, true},
		// Beyond docker: control characters in what lands in /etc files.
		{[]string{"--add-host", "h:1.2.3.4\nevil"}, `invalid argument "h:1.2.3.4\nevil" for "--add-host" flag: invalid add-host "h:1.2.3.4\nevil": control characters are not allowed`, true},
		{[]string{"--dns-option", "ndots:1\nnameserver 6.6.6.6"}, `invalid argument "ndots:1\nnameserver 6.6.6.6" for "--dns-option" flag: invalid dns-option "ndots:1\nnameserver 6.6.6.6": control characters are not allowed`, true},
		{[]string{"--network-alias", "a\nb"}, `invalid argument "a\nb" for "--network-alias" flag: invalid alias "a\nb": control characters are not allowed`, true},
		{[]string{"--link", "web:a\nb"}, `invalid argument "web:a\nb" for "--link" flag: invalid link "web:a\nb": control characters are not allowed`, true},
	}
	for _, tt := range tests {
		var f runFlags
		fs := pflag.NewFlagSet("create", pflag.ContinueOnError)
		f.register(fs, false)
		if err := fs.Parse(append(tt.args, "busybox")); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		_, err := f.options(fs, fs.Args())
		var fe *cli.FlagError
		if err == nil || err.Error() != tt.want || errors.As(err, &fe) != tt.flagErr {
			t.Errorf("%q:\n got %v (flag error %v)\nwant %s (flag error %v)", tt.args, err, errors.As(err, &fe), tt.want, tt.flagErr)
		}
	}
}

// --sysctl is checked while the flags are parsed, as docker's (a map
// flag with its validator); the accepted ones reach HostConfig.Sysctls.
func TestRunSysctlFlag(t *testing.T) {
	var f runFlags
	fs := pflag.NewFlagSet("create", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs, false)
	err := fs.Parse([]string{"--sysctl", "kernel.hostname=x", "busybox"})
	if want := `invalid argument "kernel.hostname=x" for "--sysctl" flag: sysctl 'kernel.hostname=x' is not allowed`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	f = runFlags{}
	fs = pflag.NewFlagSet("create", pflag.ContinueOnError)
	f.register(fs, false)
	if err := fs.Parse([]string{"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=4096", "busybox"}); err != nil {
		t.Fatal(err)
	}
	opt, err := f.options(fs, fs.Args())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"}; !reflect.DeepEqual(opt.HostConfig.Sysctls, want) {
		t.Errorf("Sysctls = %v, want %v", opt.HostConfig.Sysctls, want)
	}
}

// Values docker accepts are accepted: a size or --cpus not given is
// unset, 0 is a value.
func TestRunGoodInput(t *testing.T) {
	var f runFlags
	fs := pflag.NewFlagSet("create", pflag.ContinueOnError)
	f.register(fs, false)
	if err := fs.Parse([]string{"--cpus", "1e-9", "--shm-size", "0", "-m", "6m", "--log-opt", "max-size", "busybox"}); err != nil {
		t.Fatal(err)
	}
	opt, err := f.options(fs, fs.Args())
	if err != nil {
		t.Fatal(err)
	}
	if hc := opt.HostConfig; hc.NanoCPUs != 1 || hc.ShmSize != 0 || hc.Memory != 6<<20 || hc.MemorySwap != 0 || hc.LogConfig.Config["max-size"] != "" {
		t.Errorf("HostConfig = %+v", hc)
	}
}
