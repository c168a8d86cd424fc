package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Malformed input through the CLI and the raw API, rootless and as root.
// Where Docker refuses, skiff refuses with Docker's message (docker CLI 28
// and Debian's docker.io, or moby's and runc's source where docker.io is
// older) before anything is made; where Docker accepts, skiff accepts.
// Beyond Docker, control characters are refused in every name that lands
// in a container's /etc files. Each case checks that nothing is left
// behind: containers, networks, volumes, mounts, files.

// apiCall sends one request to the engine's socket and returns the status
// and Docker's error message (the body when it is not one).
func (e *env) apiCall(t *testing.T, method, path string, body io.Reader) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", e.socket())
		},
	}}
	req, err := http.NewRequest(method, "http://skiff"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m struct{ Message *string }
	if json.Unmarshal(b, &m) == nil && m.Message != nil {
		return resp.StatusCode, *m.Message
	}
	return resp.StatusCode, string(b)
}

// dataDir is the engine's data directory (dockerd's --data-root).
func (e *env) dataDir() string {
	if e.target == "docker" {
		return daemon.dataRoot()
	}
	if e.rootless {
		return filepath.Join(e.base, "data", "skiff")
	}
	return filepath.Join(e.base, "data")
}

// state is what a refused input must not change.
type state struct {
	containers, networks, volumes, mounts, files string
}

func (e *env) state(t *testing.T) state {
	t.Helper()
	sorted := func(s string) string {
		f := strings.Fields(s)
		sort.Strings(f)
		return strings.Join(f, " ")
	}
	var files []string
	for _, d := range []string{"containers", "volumes"} {
		ents, _ := os.ReadDir(filepath.Join(e.dataDir(), d))
		for _, ent := range ents {
			files = append(files, d+"/"+ent.Name())
		}
	}
	mounts := e.engineMounts(t)
	sort.Strings(mounts)
	return state{
		containers: sorted(e.mustSkiff(t, "ps", "-aq", "--no-trunc")),
		networks:   sorted(e.mustSkiff(t, "network", "ls", "-q")),
		volumes:    sorted(e.mustSkiff(t, "volume", "ls", "-q")),
		mounts:     strings.Join(mounts, " "),
		files:      strings.Join(files, " "),
	}
}

// unchanged fails the test when the engine's state differs from before.
func (e *env) unchanged(t *testing.T, what string, before state) {
	t.Helper()
	if after := e.state(t); after != before {
		t.Errorf("%s left something behind:\nbefore %+v\nafter  %+v", what, before, after)
	}
}

func TestBadInputCLI(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		dir := filepath.Join(e.base, "badinput")
		must(t, os.MkdirAll(dir, 0o755))
		file := func(name, content string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		noName, space, badUTF8 := file("noname.env", "=x\n"), file("space.env", "A B=1\n"), file("utf8.env", "A=\xff\xfe\n")
		// A bind source that a refused create must not make.
		nobind := filepath.Join(dir, "nobind")
		const flag, parse, daemon = 125, 125, 1
		prog := e.prog()
		const beyond = "beyond Docker: control characters in what lands in a container's /etc files"
		tests := []struct {
			args []string
			code int
			want string
			// skiffOnly says why a case is skiff's own (not checked on
			// the docker target).
			skiffOnly string
		}{
			// docker CLI 28's flag errors (printed with the usage).
			{[]string{"--memory", ""}, flag, `invalid argument "" for "-m, --memory" flag: invalid size: ''`, ""},
			{[]string{"--shm-size", ""}, flag, `invalid argument "" for "--shm-size" flag: invalid size: ''`, ""},
			{[]string{"--cpus", ""}, flag, `invalid argument "" for "--cpus" flag: failed to parse  as a rational number`, ""},
			{[]string{"--cpus", "1e-20"}, flag, `invalid argument "1e-20" for "--cpus" flag: value is too precise`, ""},
			{[]string{"-e", "=x"}, flag, `invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x`, ""},
			{[]string{"--sysctl", "kernel.hostname=x"}, flag, `invalid argument "kernel.hostname=x" for "--sysctl" flag: sysctl 'kernel.hostname=x' is not allowed`, ""},
			{[]string{"--dns-search", "a\nb"}, flag, `invalid argument "a\nb" for "--dns-search" flag: a` + "\n" + `b is not a valid domain`, ""},
			{[]string{"--mount", "type=bind,src=/x,dst=/y,volume-nocopy"}, flag,
				`invalid argument "type=bind,src=/x,dst=/y,volume-nocopy" for "--mount" flag: cannot mix 'volume-*' options with mount type 'bind'`, ""},
			// Its parse errors.
			{[]string{"--env-file", noName}, parse, prog + ": invalid env file (" + noName + "): no variable name on line '=x'", ""},
			{[]string{"--env-file", space}, parse, prog + ": invalid env file (" + space + "): variable 'A B' contains whitespaces", ""},
			{[]string{"--env-file", badUTF8}, parse, prog + ": invalid env file (" + badUTF8 + "): invalid utf8 bytes at line 1: [65 61 255 254]", ""},
			{[]string{"-v", nobind + "::/b"}, parse, prog + ": invalid spec: " + nobind + "::/b: empty section between colons", ""},
			{[]string{"--log-driver", "none", "--log-opt", "max-size=1m"}, parse, prog + ": invalid logging opts for driver none", ""},
			// The daemon's refusals (docker create prints them as they
			// are and exits 1).
			{[]string{"-v", nobind + ":/b:ro,rw"}, daemon, "Error response from daemon: invalid mode: ro,rw", ""},
			{[]string{"-v", nobind + ":/b:rw,rw"}, daemon, "Error response from daemon: invalid mode: rw,rw", ""},
			{[]string{"-v", "/foo:ro"}, daemon, "Error response from daemon: invalid volume specification: '/foo:ro'", ""},
			{[]string{"--tmpfs", "/"}, daemon, "Error response from daemon: invalid specification: destination can't be '/'", ""},
			{[]string{"--sysctl", "net.ipv4.ip_forward=1", "--network", "host"}, daemon,
				`Error response from daemon: sysctl "net.ipv4.ip_forward" not allowed in host network namespace`,
				"runc's refusal, which Docker makes at start (TestSysctls checks it there)"},
			{[]string{"--link", "nosuch:db"}, daemon, "Error response from daemon: could not get container for nosuch: No such container: nosuch", ""},
			// Beyond docker: control characters in /etc files.
			{[]string{"--add-host", "h:1.2.3.4\nevil"}, flag,
				`invalid argument "h:1.2.3.4\nevil" for "--add-host" flag: invalid add-host "h:1.2.3.4\nevil": control characters are not allowed`, beyond},
			{[]string{"--add-host", "evil\n6.6.6.6 h:1.2.3.4"}, flag,
				`invalid argument "evil\n6.6.6.6 h:1.2.3.4" for "--add-host" flag: invalid add-host "evil\n6.6.6.6 h:1.2.3.4": control characters are not allowed`, beyond},
			{[]string{"--dns-option", "ndots:1\nnameserver 6.6.6.6"}, flag,
				`invalid argument "ndots:1\nnameserver 6.6.6.6" for "--dns-option" flag: invalid dns-option "ndots:1\nnameserver 6.6.6.6": control characters are not allowed`, beyond},
			{[]string{"--hostname", "a\nb"}, daemon, `Error response from daemon: invalid hostname "a\nb": control characters are not allowed`, beyond},
		}
		before := e.state(t)
		for _, tt := range tests {
			if tt.skiffOnly != "" && e.target != "skiff" {
				t.Logf("%q: skiff-only: %s", tt.args, tt.skiffOnly)
				continue
			}
			args := append(append([]string{"create"}, tt.args...), "busybox", "true")
			r := e.skiff(t, args...)
			if r.code != tt.code || !strings.HasPrefix(r.stderr, tt.want+"\n") {
				t.Errorf("%s %q: exit %d, want %d, stderr:\n%s\nwant first:\n%s", prog, args, r.code, tt.code, r.stderr, tt.want)
			}
			e.unchanged(t, fmt.Sprintf("%q", tt.args), before)
		}
		if _, err := os.Stat(nobind); err == nil {
			t.Errorf("a refused create made the bind source %s", nobind)
		}
		// run prints the daemon's refusal after "skiff: " and exits 125.
		r := e.skiff(t, "run", "--rm", "-v", nobind+":/b:ro,rw", "busybox", "true")
		if r.code != 125 || !strings.HasPrefix(r.stderr, prog+": Error response from daemon: invalid mode: ro,rw\n") {
			t.Errorf("run: %s", r)
		}
		e.unchanged(t, "run", before)

		// What docker accepts, skiff accepts.
		good := [][]string{
			{"-v", dir + ":/b:cached"}, {"-v", dir + ":/b:ro,z,rshared"}, {"-v", "vol-badinput:/b:nocopy"},
			{"--cpus", "1e-9"}, {"--shm-size", "0"}, {"--log-opt", "max-size=1m"},
			{"--sysctl", "net.ipv4.ip_forward=1"}, {"--sysctl", "kernel.shmmax=4096"}, {"--sysctl", "fs.mqueue.msg_max=20"},
			{"--add-host", "h:::1"}, {"--add-host", "h=[::1]"},
		}
		t.Cleanup(func() { e.skiff(t, "volume", "rm", "vol-badinput") })
		for _, args := range good {
			r := e.skiff(t, append(append([]string{"create"}, args...), "busybox", "true")...)
			if r.code != 0 {
				t.Errorf("create %q: %s", args, r)
				continue
			}
			e.mustSkiff(t, "rm", strings.TrimSpace(r.stdout))
		}
	})
}

func TestBadInputAPI(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		create := func(cfg, hc string) string {
			s := `{"Image":"busybox","Cmd":["true"]`
			if cfg != "" {
				s += "," + cfg
			}
			return s + `,"HostConfig":{` + hc + `}}`
		}
		// answer is a status and Docker's message; status 201 is a
		// create that worked.
		type answer struct {
			status int
			msg    string
		}
		const created = 201
		tests := []struct {
			query, body string
			status      int
			want        string
			// dockerIO is docker.io's answer where it is not Docker 28's
			// (moby v28.5.2's source answers as the case does).
			dockerIO *answer
		}{
			// The Docker daemon's messages. docker.io's daemon checks
			// less at create (the MAC address, the namespace modes) and
			// answers some refusals with 500.
			{"", create(`"MacAddress":"zz"`, ""), 400, "invalid config for network bridge: invalid MAC address zz", &answer{created, ""}},
			{"", create(`"MacAddress":"02:42:ac:11:00:99"`, `"NetworkMode":"none"`), 400, "conflicting options: mac-address and the network mode", &answer{created, ""}},
			{"", create(`"Healthcheck":{"Test":["CMD","true"],"Interval":-5}`, ""), 400, "Interval in Healthcheck cannot be less than 1ms", nil},
			{"", create(`"Healthcheck":{"Test":["CMD","true"],"Retries":-1}`, ""), 400, "Retries in Healthcheck cannot be negative", nil},
			{"", create(`"Env":["=x"]`, ""), 400, "invalid environment variable: =x", nil},
			{"", create("", `"ShmSize":-1`), 400, "SHM size can not be less than 0", nil},
			{"", create("", `"ExtraHosts":["noip"]`), 400, `bad format for add-host: "noip"`, nil},
			{"", create("", `"ExtraHosts":["h:999.1.1.1"]`), 400, `invalid IP address in add-host: "999.1.1.1"`, nil},
			{"", create("", `"Links":["::"]`), 400, "bad format for links: ::", &answer{500, "bad format for links: ::"}},
			{"", create("", `"Links":["nosuch:db"]`), 400, "could not get container for nosuch: No such container: nosuch", nil},
			{"", create("", `"OomScoreAdj":5000`), 400, "Invalid value 5000, range for oom score adj is [-1000, 1000]", nil},
			{"", create("", `"OomScoreAdj":-5000`), 400, "Invalid value -5000, range for oom score adj is [-1000, 1000]", nil},
			{"", create("", `"PidMode":"bogus"`), 400, "invalid PID mode: bogus", &answer{created, ""}},
			{"", create("", `"IpcMode":"bogus"`), 400, "invalid IPC mode: bogus", &answer{created, ""}},
			{"", create("", `"UTSMode":"bogus"`), 400, "invalid UTS mode: bogus", &answer{created, ""}},
			{"", create("", `"CgroupnsMode":"bogus"`), 400, "invalid cgroup namespace mode: bogus", nil},
			{"", create("", `"Runtime":"bogus"`), 400, "unknown or invalid runtime name: bogus", &answer{400, "Unknown runtime specified bogus"}},
			{"", create("", `"Binds":["/a:/b:ro,rw"]`), 400, "invalid mode: ro,rw", &answer{500, "invalid mode: ro,rw"}},
			{"", create("", `"Tmpfs":{"/":""}`), 400, "invalid specification: destination can't be '/'", nil},
			// containerd's platform parser and Docker's platform check.
			{"?platform=bogus/arch", create("", ""), 404,
				"image with reference busybox was found but its platform (linux/" + goruntime.GOARCH + ") does not match the specified platform (bogus/arch)",
				&answer{404, "image with reference busybox was found but does not match the specified platform: wanted bogus/arch, actual: linux/" + goruntime.GOARCH}},
			{"?platform=" + "a%20b", create("", ""), 400,
				`"a b" is an invalid component of "a b": platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument`,
				&answer{400, `"a b" is an invalid component of "a b": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument`}},
			// Docker's JSON errors.
			{"", "", 400, "invalid JSON: got EOF while reading request body", &answer{500, "EOF"}},
			{"", "{", 400, "invalid JSON: unexpected EOF", &answer{500, "unexpected EOF"}},
		}
		// The runc refusals that Docker answers a start with: skiff
		// refuses the create.
		runcs := []struct{ hc, want string }{
			{`"Sysctls":{"kernel.hostname":"x"}`, `sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field`},
			{`"Sysctls":{"vm.swappiness":"1"}`, `sysctl "vm.swappiness" is not in a separate kernel namespace`},
			{`"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}`, `sysctl "net.ipv4.ip_forward" not allowed in host network namespace`},
		}
		// skiff's own: the modes it cannot honour, control characters.
		skiffs := []struct {
			body string
			want string
		}{
			{create("", `"UsernsMode":"bogus"`), "invalid USER mode: bogus"},
			{create("", `"PidMode":"host"`), `PID mode "host" is not supported by skiff: the container would get a namespace of its own`},
			{create(`"Hostname":"a\nb"`, ""), `invalid hostname "a\nb": control characters are not allowed`},
			{create(`"Domainname":"a\nb"`, ""), `invalid domainname "a\nb": control characters are not allowed`},
			{create("", `"ExtraHosts":["evil\n6.6.6.6 h:1.2.3.4"]`), `invalid add-host "evil\n6.6.6.6 h:1.2.3.4": control characters are not allowed`},
			{create("", `"DnsSearch":["a\nnameserver 6.6.6.6"]`), `invalid dns-search "a\nnameserver 6.6.6.6": control characters are not allowed`},
			{create("", `"DnsOptions":["ndots:1\nnameserver 6.6.6.6"]`), `invalid dns-option "ndots:1\nnameserver 6.6.6.6": control characters are not allowed`},
			{create("", `"Links":["db:a\nb"]`), `invalid link "db:a\nb": control characters are not allowed`},
		}
		// rmCreated removes the container a create answer names.
		rmCreated := func(msg string) {
			t.Helper()
			var res struct {
				ID string `json:"Id"`
			}
			must(t, json.Unmarshal([]byte(msg), &res))
			e.mustSkiff(t, "rm", "-f", res.ID)
		}
		before := e.state(t)
		for _, tt := range tests {
			want := answer{tt.status, tt.want}
			if tt.dockerIO != nil {
				want = orDockerIO(e, want, *tt.dockerIO)
			}
			status, msg := e.apiCall(t, "POST", "/v1.41/containers/create"+tt.query, strings.NewReader(tt.body))
			switch {
			case want.status == created && status == created:
				rmCreated(msg)
			case status != want.status || msg != want.msg:
				t.Errorf("create%s %s:\n got %d %q\nwant %d %q", tt.query, tt.body, status, msg, want.status, want.msg)
				if status == created {
					rmCreated(msg)
				}
			}
			e.unchanged(t, tt.body, before)
		}
		// Isolation: Docker's request decoder answers before its daemon's
		// check (moby v28.5.2: runconfig's validateIsolation; docker.io
		// with 500).
		isolation := create("", `"Isolation":"hyperv"`)
		want := orDockerIO(e, answer{400, "invalid isolation (hyperv): linux only supports 'default'"},
			answer{500, `Invalid isolation: "hyperv" - linux only supports 'default'`})
		if status, msg := e.apiCall(t, "POST", "/v1.41/containers/create", strings.NewReader(isolation)); status != want.status || msg != want.msg {
			t.Errorf("create %s:\n got %d %q\nwant %d %q", isolation, status, msg, want.status, want.msg)
		}
		e.unchanged(t, isolation, before)
		for _, tt := range runcs {
			body := create("", tt.hc)
			status, msg := e.apiCall(t, "POST", "/v1.41/containers/create", strings.NewReader(body))
			if e.target == "skiff" {
				if status != 400 || msg != tt.want {
					t.Errorf("create %s:\n got %d %q\nwant 400 %q", body, status, msg, tt.want)
				}
				e.unchanged(t, body, before)
				continue
			}
			// Docker makes the container; runc refuses its start, and
			// Docker answers with runc's words inside containerd's.
			if status != created {
				t.Errorf("create %s: %d %q, want 201", body, status, msg)
				continue
			}
			var res struct {
				ID string `json:"Id"`
			}
			must(t, json.Unmarshal([]byte(msg), &res))
			if status, msg := e.apiCall(t, "POST", "/v1.41/containers/"+res.ID+"/start", nil); status != 500 || !strings.Contains(msg, "runc create failed: "+tt.want+": unknown") {
				t.Errorf("start of %s: %d %q, want 500 and runc's %q", body, status, msg, tt.want)
			}
			e.mustSkiff(t, "rm", "-f", res.ID)
			e.unchanged(t, body, before)
		}
		if e.target == "skiff" {
			for _, tt := range skiffs {
				status, msg := e.apiCall(t, "POST", "/v1.41/containers/create", strings.NewReader(tt.body))
				if status != 400 || msg != tt.want {
					t.Errorf("create %s:\n got %d %q\nwant 400 %q", tt.body, status, msg, tt.want)
				}
				e.unchanged(t, tt.body, before)
			}
			// Network aliases with a control character, on a user network.
			e.createNetwork(t, "bi-net")
			before = e.state(t)
			status, msg := e.apiCall(t, "POST", "/v1.41/containers/create", strings.NewReader(
				`{"Image":"busybox","HostConfig":{"NetworkMode":"bi-net"},"NetworkingConfig":{"EndpointsConfig":{"bi-net":{"Aliases":["a\nb"]}}}}`))
			if want := `invalid config for network bi-net: invalid alias "a\nb": control characters are not allowed`; status != 400 || msg != want {
				t.Errorf("alias: %d %q, want 400 %q", status, msg, want)
			}
			e.unchanged(t, "alias", before)
		}

		// What Docker accepts is accepted: a valid MAC, -v modes Docker
		// knows, a matching platform, the default runtime by name.
		for _, tt := range []struct{ query, body string }{
			{"", create(`"MacAddress":"02:42:ac:11:00:99"`, "")},
			{"", create("", `"Binds":["/tmp:/b:cached"]`)},
			{"?platform=linux/" + goruntime.GOARCH, create("", "")},
			{"", create(`"Healthcheck":{"Test":["CMD","true"],"Interval":1000000}`, `"OomScoreAdj":-1000,"IpcMode":"private","Runtime":"`+orDockerIO(e, "skiff", "runc")+`"`)},
		} {
			status, msg := e.apiCall(t, "POST", "/v1.41/containers/create"+tt.query, strings.NewReader(tt.body))
			if status != 201 {
				t.Errorf("create%s %s: %d %s", tt.query, tt.body, status, msg)
				continue
			}
			rmCreated(msg)
		}
	})
}

func TestBadInputNetworks(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		before := e.state(t)
		for _, tt := range []struct {
			args []string
			want string
			// beyond is a refusal of skiff's own (not checked on the
			// docker target).
			beyond bool
		}{
			// Docker's bridge driver's messages.
			{[]string{"-o", "com.docker.network.driver.mtu=-5", "bi-mtu"}, "Error response from daemon: invalid MTU number: -5", false},
			{[]string{"-o", "com.docker.network.driver.mtu=abc", "bi-mtu"},
				`Error response from daemon: failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing "abc": invalid syntax)`, false},
			// A name no client can address (Docker makes it, then cannot
			// remove it by name).
			{[]string{"../x"}, `Error response from daemon: invalid network name "../x": a name cannot hold "." or ".." path segments, "//", or begin or end with "/"`, true},
			{[]string{".."}, `Error response from daemon: invalid network name "..": a name cannot hold "." or ".." path segments, "//", or begin or end with "/"`, true},
		} {
			if tt.beyond && e.target != "skiff" {
				continue
			}
			r := e.skiff(t, append([]string{"network", "create"}, tt.args...)...)
			if r.code != 1 || strings.TrimSpace(r.stderr) != tt.want {
				t.Errorf("network create %q: %s\nwant %s", tt.args, r, tt.want)
			}
			e.unchanged(t, fmt.Sprint(tt.args), before)
		}

		// Every name that is made works in every route, through the CLI
		// (its client does not escape slashes) and the raw API (escaped).
		e.runDetached(t, "bi-member", "busybox", "sleep", "300")
		e.createNetwork(t, "bi-aliases")
		if e.target == "skiff" { // beyond Docker: control characters in aliases
			status, msg := e.apiCall(t, "POST", "/v1.41/networks/bi-aliases/connect",
				strings.NewReader(`{"Container":"bi-member","EndpointConfig":{"Aliases":["a\nb"]}}`))
			if want := `invalid alias "a\nb": control characters are not allowed`; status != 400 || msg != want {
				t.Errorf("connect with an alias holding a newline: %d %q, want 400 %q", status, msg, want)
			}
			if got := e.inspectF(t, "bi-member", `{{with index .NetworkSettings.Networks "bi-aliases"}}on{{end}}`); got != "" {
				t.Errorf("a refused connect attached the container")
			}
		}
		for _, name := range []string{"bi/x", "bi/x/y", "bi a", "bi%2e", "bi-connect"} {
			e.mustSkiff(t, "network", "create", name)
			if got := strings.TrimSpace(e.mustSkiff(t, "network", "inspect", "-f", "{{.Name}}", name)); got != name {
				t.Errorf("inspect %q: %q", name, got)
			}
			e.mustSkiff(t, "network", "connect", name, "bi-member")
			if got := e.inspectF(t, "bi-member", fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}on{{end}}`, name)); got != "on" {
				t.Errorf("connect %q: not attached", name)
			}
			e.mustSkiff(t, "network", "disconnect", name, "bi-member")
			escaped := strings.ReplaceAll(urlPathEscape(name), "/", "%2F")
			if status, msg := e.apiCall(t, "GET", "/v1.41/networks/"+escaped, nil); status != 200 || !strings.Contains(msg, strconv.Quote(name)) {
				t.Errorf("GET %s: %d %s", escaped, status, msg)
			}
			if out := e.mustSkiff(t, "network", "rm", name); strings.TrimSpace(out) != name {
				t.Errorf("rm %q: %q", name, out)
			}
		}
		e.mustSkiff(t, "rm", "-f", "bi-member")
		e.mustSkiff(t, "network", "rm", "bi-aliases")
		e.unchanged(t, "network names", before)
	})
}

// urlPathEscape escapes a path segment as url.PathEscape does.
func urlPathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestBadInputKillAndRoutes(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.runDetached(t, "bi-kill", "busybox", "sleep", "300")
		for _, tt := range []struct {
			sig, want string
			// docker.io's daemon (moby 20.10): capitalised, a bad
			// number is a 500 (and -1 wraps around), a bad name is
			// refused before the wrapping.
			dockerIO       string
			dockerIOStatus int
		}{
			// moby's daemon/kill.go, under its router's wrapping.
			{"999", "Error response from daemon: cannot kill container: bi-kill: the linux daemon does not support signal 999",
				"Error response from daemon: Cannot kill container: bi-kill: The linux daemon does not support signal 999", 500},
			{"-1", "Error response from daemon: cannot kill container: bi-kill: the linux daemon does not support signal -1",
				"Error response from daemon: Cannot kill container: bi-kill: The linux daemon does not support signal 18446744073709551615", 500},
			{"FOO", "Error response from daemon: cannot kill container: bi-kill: invalid signal: FOO",
				"Error response from daemon: Invalid signal: FOO", 400},
		} {
			want := orDockerIO(e, tt.want, tt.dockerIO)
			r := e.skiff(t, "kill", "-s", tt.sig, "bi-kill")
			if r.code != 1 || strings.TrimSpace(r.stderr) != want {
				t.Errorf("kill -s %s: %s\nwant %s", tt.sig, r, want)
			}
			if status, _ := e.apiCall(t, "POST", "/v1.41/containers/bi-kill/kill?signal="+tt.sig, nil); status != orDockerIO(e, 400, tt.dockerIOStatus) {
				t.Errorf("kill -s %s: status %d, want %d", tt.sig, status, orDockerIO(e, 400, tt.dockerIOStatus))
			}
		}
		if got := e.inspectF(t, "bi-kill", "{{.State.Running}}"); got != "true" {
			t.Errorf("a refused kill stopped the container: running=%s", got)
		}
		r := e.skiff(t, "kill", "bi-nosuch")
		if want := "Error response from daemon: " + orDockerIO(e, "c", "C") + "annot kill container: bi-nosuch: No such container: bi-nosuch"; strings.TrimSpace(r.stderr) != want {
			t.Errorf("kill missing: %s\nwant %s", r, want)
		}
		// An unknown path or method: Docker's 404 with a JSON message.
		for _, tt := range []struct{ method, path string }{
			{"PATCH", "/v1.41/containers/json"}, {"POST", "/v1.41/_ping"}, {"GET", "/v1.41/bogus"}, {"PUT", "/v1.41/containers/bi-kill/kill"},
		} {
			if status, msg := e.apiCall(t, tt.method, tt.path, nil); status != 404 || msg != "page not found" {
				t.Errorf("%s %s: %d %q, want 404 \"page not found\"", tt.method, tt.path, status, msg)
			}
		}
	})
}

// A 40 MB create body is refused after 1 MiB: the engine does not grow
// and writes nothing.
func TestBadInputBodyCap(t *testing.T) {
	skiffOnly(t, "skiff's cap on API request bodies (beyond Docker)")
	forEachMode(t, func(t *testing.T, e *env) {
		before := e.state(t)
		pid := e.enginePID()
		if e.rootless {
			pid = e.innerEnginePID(t)
		}
		rss := func() int {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) > 1 && f[0] == "VmRSS:" {
					n, _ := strconv.Atoi(f[1])
					return n
				}
			}
			return 0
		}
		rss0 := rss()
		body := `{"Image":"busybox","Cmd":["true"],"Env":["A=` + strings.Repeat("x", 40<<20) + `"]}`
		status, msg := e.apiCall(t, "POST", "/v1.41/containers/create", strings.NewReader(body))
		if status != 413 || msg != "request body too large: the limit is 1048576 bytes" {
			t.Errorf("40 MB create: %d %q", status, msg)
		}
		if grown := rss() - rss0; grown > 20<<10 {
			t.Errorf("the engine grew by %d kB for a refused body", grown)
		}
		e.unchanged(t, "a 40 MB body", before)
		// A body under the cap is read as usual.
		status, msg = e.apiCall(t, "POST", "/v1.41/containers/create", strings.NewReader(
			`{"Image":"busybox","Cmd":["true"],"Env":["A=`+strings.Repeat("x", 512<<10)+`"]}`))
		if status != 201 {
			t.Errorf("512 KiB create: %d %s", status, msg)
		} else {
			var res struct {
				ID string `json:"Id"`
			}
			must(t, json.Unmarshal([]byte(msg), &res))
			e.mustSkiff(t, "rm", res.ID)
		}
	})
}

// --sysctl reaches the container's namespaces (as root and rootless);
// the ones runc refuses are refused before anything is made.
func TestSysctls(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		out := e.mustSkiff(t, "run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=1000000",
			"--sysctl", "fs.mqueue.msg_max=20", "busybox", "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax", "/proc/sys/fs/mqueue/msg_max")
		if got := strings.Fields(out); strings.Join(got, " ") != "1 1000000 20" {
			t.Errorf("sysctls in the container: %q, want 1 1000000 20", out)
		}
		// --network none has a namespace of its own too; a container
		// sharing another's takes its network sysctls as Docker does.
		out = e.mustSkiff(t, "run", "--rm", "--network", "none", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "cat", "/proc/sys/net/ipv4/ip_forward")
		if strings.TrimSpace(out) != "1" {
			t.Errorf("--network none: %q", out)
		}
		// The host's are untouched.
		host, _ := os.ReadFile("/proc/sys/kernel/shmmax")
		if strings.TrimSpace(string(host)) == "1000000" {
			t.Errorf("the host's kernel.shmmax changed")
		}
		e.runDetached(t, "bi-hostnet", "--network", "host", "busybox", "sleep", "300")
		before := e.state(t)
		r := e.skiff(t, "run", "--rm", "--network", "container:bi-hostnet", "--sysctl", "net.ipv4.ip_forward=0", "busybox", "true")
		// skiff refuses with runc's words before it starts anything;
		// Docker with them inside containerd's, when runc refuses.
		want := `skiff: Error response from daemon: sysctl "net.ipv4.ip_forward" not allowed in host network namespace` + "\n"
		if e.target == "docker" {
			want = `docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: sysctl "net.ipv4.ip_forward" not allowed in host network namespace: unknown` + "\n"
		}
		if r.code != 125 || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("the host's network namespace through a container: %s\nwant first: %s", r, want)
		}
		e.unchanged(t, "sysctl on the host's network", before)
	})
}

// The real docker CLI against skiff: the engine's refusals read as they
// do through skiff's CLI, and leave nothing behind either.
func TestBadInputDockerCLI(t *testing.T) {
	docker, err := lookDocker()
	if err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		d := e.dockerEnv()
		e.runDetached(t, "bi-dk", "busybox", "sleep", "300")
		before := e.state(t)
		for _, tt := range []struct {
			args []string
			// want is the engine's message; "" when it is the one skiff's
			// CLI prints too (skiff's CLI refuses the others itself).
			want string
			// skiffOnly: refused by skiff's engine only (Docker's takes
			// it, or refuses it at start), not checked on the docker
			// target.
			skiffOnly bool
		}{
			{args: []string{"create", "-v", "/a:/b:ro,rw", "busybox"}},
			{args: []string{"create", "--tmpfs", "/", "busybox"}},
			{args: []string{"create", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox"}, skiffOnly: true},
			{args: []string{"create", "--hostname", "a\nb", "busybox"}, skiffOnly: true},
			{args: []string{"kill", "-s", "999", "bi-dk"}},
			{args: []string{"network", "create", "-o", "com.docker.network.driver.mtu=-5", "bi-dkmtu"}},
			// The docker CLI takes these; skiff's engine refuses them.
			{[]string{"create", "--add-host", "a\nb:1.2.3.4", "busybox"}, `invalid add-host "a\nb:1.2.3.4": control characters are not allowed`, true},
			{[]string{"create", "--dns-option", "ndots:1\nnameserver 6.6.6.6", "busybox"}, `invalid dns-option "ndots:1\nnameserver 6.6.6.6": control characters are not allowed`, true},
		} {
			if tt.skiffOnly && e.target != "skiff" {
				continue
			}
			args := tt.args
			dr := d.run(t, nil, docker, args...)
			if tt.want != "" {
				if dr.code != 1 || dr.stderr != "Error response from daemon: "+tt.want+"\n" {
					t.Errorf("docker %q: %s\nwant %s", args, dr, tt.want)
				}
				e.unchanged(t, fmt.Sprintf("docker %q", args), before)
				continue
			}
			sr := e.skiff(t, args...)
			if dr.code != 1 || !strings.HasPrefix(dr.stderr, "Error response from daemon: ") || dr.stderr != sr.stderr || dr.code != sr.code {
				t.Errorf("%q:\ndocker: %s\nskiff:  %s", args, dr, sr)
			}
			e.unchanged(t, fmt.Sprintf("docker %q", args), before)
		}
	})
}
