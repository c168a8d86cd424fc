package engine

import (
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/skiff-dev/skiff/images"
)

func newTestEngine() *Engine {
	return &Engine{containers: map[string]*ctr{}, names: map[string]string{}}
}

func TestReserveName(t *testing.T) {
	const taken = "/web"
	const takenBy = "1111111111111111111111111111111111111111111111111111111111111111"
	tests := []struct {
		name       string
		in         string
		want       string
		wantStatus int
		wantMsg    string
	}{
		{name: "plain", in: "db", want: "/db"},
		{name: "leading slash", in: "/cache", want: "/cache"},
		{name: "all allowed characters", in: "A-b_c.9", want: "/A-b_c.9"},
		{name: "digits first", in: "1st", want: "/1st"},
		{
			name: "duplicate", in: "web", wantStatus: http.StatusConflict,
			wantMsg: `Conflict. The container name "/web" is already in use by container "` + takenBy +
				`". You have to remove (or rename) that container to be able to reuse that name.`,
		},
		{
			name: "duplicate with slash", in: "/web", wantStatus: http.StatusConflict,
			wantMsg: `Conflict. The container name "/web" is already in use by container "` + takenBy +
				`". You have to remove (or rename) that container to be able to reuse that name.`,
		},
		{
			name: "one character", in: "a", wantStatus: http.StatusBadRequest,
			wantMsg: "Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		},
		{
			name: "leading dash", in: "-web", wantStatus: http.StatusBadRequest,
			wantMsg: "Invalid container name (-web), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		},
		{
			name: "leading underscore", in: "_web", wantStatus: http.StatusBadRequest,
			wantMsg: "Invalid container name (_web), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		},
		{
			name: "space", in: "my web", wantStatus: http.StatusBadRequest,
			wantMsg: "Invalid container name (my web), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		},
		{
			name: "inner slash", in: "a/b", wantStatus: http.StatusBadRequest,
			wantMsg: "Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		},
		{
			name: "double slash", in: "//ab", wantStatus: http.StatusBadRequest,
			wantMsg: "Invalid container name (//ab), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		},
		{
			name: "only a slash", in: "/", wantStatus: http.StatusBadRequest,
			wantMsg: "Invalid container name (/), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine()
			e.names[taken] = takenBy
			got, err := e.reserveName(tt.in, "2222")
			if tt.wantStatus != 0 {
				if err == nil {
					t.Fatalf("reserveName(%q) = %q, want an error", tt.in, got)
				}
				if s := statusOf(err); s != tt.wantStatus {
					t.Errorf("status = %d, want %d", s, tt.wantStatus)
				}
				if err.Error() != tt.wantMsg {
					t.Errorf("error = %q\nwant    %q", err, tt.wantMsg)
				}
				if e.names[taken] != takenBy || len(e.names) != 1 {
					t.Errorf("names after a refused reservation = %v", e.names)
				}
				return
			}
			if err != nil {
				t.Fatalf("reserveName(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("reserveName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if e.names[tt.want] != "2222" {
				t.Errorf("names[%q] = %q, want the new id", tt.want, e.names[tt.want])
			}
		})
	}
}

func TestReserveNameGenerated(t *testing.T) {
	e := newTestEngine()
	re := regexp.MustCompile(`^/[a-z]+_[a-z]+[0-9]*$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		id := string(rune('a'+i%26)) + "id"
		n, err := e.reserveName("", id)
		if err != nil {
			t.Fatalf("reserveName(\"\"): %v", err)
		}
		if !re.MatchString(n) {
			t.Fatalf("generated name %q is not /adjective_surname", n)
		}
		if seen[n] {
			t.Fatalf("generated name %q twice", n)
		}
		seen[n] = true
		if e.names[n] != id {
			t.Fatalf("names[%q] = %q, want %q", n, e.names[n], id)
		}
	}
	if len(e.names) != 200 {
		t.Errorf("%d names reserved, want 200", len(e.names))
	}
	// A released name can be taken again.
	for n := range seen {
		e.releaseName(n)
		if _, ok := e.names[n]; ok {
			t.Fatalf("releaseName(%q) left it reserved", n)
		}
		if got, err := e.reserveName(n, "new"); err != nil || got != n {
			t.Fatalf("reserveName(%q) after release = %q, %v", n, got, err)
		}
		break
	}
}

func testImage(cfg v1.Config) *images.Image {
	return &images.Image{ID: "sha256:abc", Config: v1.ConfigFile{Config: cfg}}
}

func TestMergeImageConfig(t *testing.T) {
	img := v1.Config{
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
		Cmd:        []string{"sh"},
		WorkingDir: "/app",
		User:       "nobody",
		StopSignal: "SIGQUIT",
		Labels:     map[string]string{"maintainer": "x", "version": "1"},
	}
	withEntrypoint := img
	withEntrypoint.Entrypoint = []string{"/entry.sh"}
	withEntrypoint.Cmd = []string{"serve", "--port", "80"}
	bare := v1.Config{}

	tests := []struct {
		name  string
		image v1.Config
		user  container.Config
		want  container.Config
	}{
		{
			name:  "everything from the image",
			image: img,
			user:  container.Config{Image: "busybox"},
			want: container.Config{
				Image: "busybox", Env: img.Env, Cmd: []string{"sh"}, WorkingDir: "/app", User: "nobody",
				StopSignal: "SIGQUIT", Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
		{
			name:  "user env is added, same key overrides",
			image: img,
			user:  container.Config{Env: []string{"FOO=bar", "LANG=en_US.UTF-8"}},
			want: container.Config{
				Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "FOO=bar"},
				Cmd: []string{"sh"}, WorkingDir: "/app", User: "nobody", StopSignal: "SIGQUIT",
				Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
		{
			name:  "user env with an empty value overrides",
			image: img,
			user:  container.Config{Env: []string{"PATH="}},
			want: container.Config{
				Env: []string{"PATH=", "LANG=C.UTF-8"},
				Cmd: []string{"sh"}, WorkingDir: "/app", User: "nobody", StopSignal: "SIGQUIT",
				Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
		{
			name:  "user cmd replaces the image's; image entrypoint kept",
			image: withEntrypoint,
			user:  container.Config{Cmd: []string{"migrate"}},
			want: container.Config{
				Env: img.Env, Entrypoint: []string{"/entry.sh"}, Cmd: []string{"migrate"},
				WorkingDir: "/app", User: "nobody", StopSignal: "SIGQUIT",
				Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
		{
			name:  "image entrypoint and cmd",
			image: withEntrypoint,
			user:  container.Config{},
			want: container.Config{
				Env: img.Env, Entrypoint: []string{"/entry.sh"}, Cmd: []string{"serve", "--port", "80"},
				WorkingDir: "/app", User: "nobody", StopSignal: "SIGQUIT",
				Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
		{
			name:  "user entrypoint drops the image's cmd",
			image: withEntrypoint,
			user:  container.Config{Entrypoint: []string{"/bin/sh"}},
			want: container.Config{
				Env: img.Env, Entrypoint: []string{"/bin/sh"}, Cmd: nil,
				WorkingDir: "/app", User: "nobody", StopSignal: "SIGQUIT",
				Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
		{
			name:  "user entrypoint and cmd",
			image: withEntrypoint,
			user:  container.Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}},
			want: container.Config{
				Env: img.Env, Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"},
				WorkingDir: "/app", User: "nobody", StopSignal: "SIGQUIT",
				Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
		{
			name:  "user settings win",
			image: img,
			user: container.Config{
				WorkingDir: "/w", User: "1000:1000", StopSignal: "SIGINT",
				Labels: map[string]string{"version": "2", "extra": "y"},
			},
			want: container.Config{
				Env: img.Env, Cmd: []string{"sh"}, WorkingDir: "/w", User: "1000:1000", StopSignal: "SIGINT",
				Labels: map[string]string{"maintainer": "x", "version": "2", "extra": "y"},
			},
		},
		{
			name:  "bare image: labels are an empty map, not null",
			image: bare,
			user:  container.Config{Cmd: []string{"true"}},
			want:  container.Config{Cmd: []string{"true"}, Labels: map[string]string{}},
		},
		{
			name:  "bare image keeps user labels",
			image: bare,
			user:  container.Config{Labels: map[string]string{"a": "b"}, Env: []string{"A=1"}},
			want:  container.Config{Labels: map[string]string{"a": "b"}, Env: []string{"A=1"}},
		},
		{
			name:  "fields the image does not have pass through",
			image: img,
			user:  container.Config{Hostname: "h", Tty: true, OpenStdin: true},
			want: container.Config{
				Hostname: "h", Tty: true, OpenStdin: true,
				Env: img.Env, Cmd: []string{"sh"}, WorkingDir: "/app", User: "nobody", StopSignal: "SIGQUIT",
				Labels: map[string]string{"maintainer": "x", "version": "1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := tt.user
			userEnv := append([]string(nil), user.Env...)
			var userLabels map[string]string
			if user.Labels != nil {
				userLabels = map[string]string{}
				for k, v := range user.Labels {
					userLabels[k] = v
				}
			}
			imgEnv := append([]string(nil), tt.image.Env...)
			got := mergeImageConfig(&user, testImage(tt.image))
			// Env is compared as a set: Docker puts the user's variables
			// first, skiff the image's; both give each key once.
			if !reflect.DeepEqual(sortedEnv(got.Env), sortedEnv(tt.want.Env)) {
				t.Errorf("Env = %q, want (in any order) %q", got.Env, tt.want.Env)
			}
			gotCfg, wantCfg := *got, tt.want
			gotCfg.Env, wantCfg.Env = nil, nil
			if !reflect.DeepEqual(gotCfg, wantCfg) {
				t.Errorf("mergeImageConfig =\n  %+v\nwant\n  %+v", gotCfg, wantCfg)
			}
			// Neither the request nor the image is changed.
			if !reflect.DeepEqual(user.Env, userEnv) && len(userEnv) > 0 {
				t.Errorf("user Env changed to %q", user.Env)
			}
			if !reflect.DeepEqual(user.Labels, userLabels) {
				t.Errorf("user Labels changed to %v", user.Labels)
			}
			if !reflect.DeepEqual(tt.image.Env, imgEnv) && len(imgEnv) > 0 {
				t.Errorf("image Env changed to %q", tt.image.Env)
			}
		})
	}
}

func TestMergeImageConfigDoesNotAliasImageEnv(t *testing.T) {
	im := testImage(v1.Config{Env: []string{"A=1", "B=2"}})
	got := mergeImageConfig(&container.Config{Env: []string{"A=9"}}, im)
	if want := []string{"A=9", "B=2"}; !reflect.DeepEqual(sortedEnv(got.Env), want) {
		t.Fatalf("Env = %q, want %q", got.Env, want)
	}
	if im.Config.Config.Env[0] != "A=1" {
		t.Errorf("the image's Env was changed to %q", im.Config.Config.Env)
	}
}

func sortedEnv(env []string) []string {
	if env == nil {
		return nil
	}
	out := append([]string(nil), env...)
	sort.Strings(out)
	return out
}

func TestCommandOf(t *testing.T) {
	tests := []struct {
		name     string
		cfg      container.Config
		wantPath string
		wantArgs []string
	}{
		{"cmd only", container.Config{Cmd: []string{"echo", "hi", "there"}}, "echo", []string{"hi", "there"}},
		{"single cmd", container.Config{Cmd: []string{"sh"}}, "sh", []string{}},
		{"entrypoint only", container.Config{Entrypoint: []string{"/entry.sh", "-v"}}, "/entry.sh", []string{"-v"}},
		{"entrypoint and cmd", container.Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo hi"}}, "/bin/sh", []string{"-c", "echo hi"}},
		{"nothing", container.Config{}, "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			path, args := commandOf(&cfg)
			if path != tt.wantPath || !reflect.DeepEqual(args, tt.wantArgs) {
				t.Errorf("commandOf = %q, %q; want %q, %q", path, args, tt.wantPath, tt.wantArgs)
			}
			if args == nil {
				t.Error("args = nil, want a non-nil slice (inspect shows Args: [])")
			}
		})
	}
	// The result does not share the config's arrays.
	cfg := &container.Config{Entrypoint: make([]string, 1, 8), Cmd: []string{"x"}}
	cfg.Entrypoint[0] = "/e"
	_, args := commandOf(cfg)
	args[0] = "changed"
	if cfg.Cmd[0] != "x" {
		t.Errorf("commandOf's args alias cfg.Cmd")
	}
}

func TestValidateHostConfig(t *testing.T) {
	tests := []struct {
		name    string
		hc      container.HostConfig
		wantErr bool
	}{
		{"empty", container.HostConfig{}, false},
		{"rm without restart", container.HostConfig{AutoRemove: true}, false},
		{"rm with restart=no", container.HostConfig{AutoRemove: true, RestartPolicy: container.RestartPolicy{Name: "no"}}, false},
		{"restart without rm", container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "always"}}, false},
		{"rm with restart=always", container.HostConfig{AutoRemove: true, RestartPolicy: container.RestartPolicy{Name: "always"}}, true},
		{"rm with restart=on-failure", container.HostConfig{AutoRemove: true, RestartPolicy: container.RestartPolicy{Name: "on-failure"}}, true},
	}
	for _, tt := range tests {
		err := validateHostConfig(&tt.hc)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: validateHostConfig = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && err.Error() != "conflicting options: cannot specify both --restart and --rm" {
			t.Errorf("%s: error = %q", tt.name, err)
		}
	}
}
