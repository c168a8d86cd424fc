package runtime

import (
	"reflect"
	"testing"
)

func TestLookupEnv(t *testing.T) {
	env := []string{"A=1", "B=", "C", "A=2", "D=x=y", "PATH=/bin"}
	tests := []struct {
		key    string
		want   string
		wantOK bool
	}{
		{"A", "2", true}, // the last value wins, as in execve's users
		{"B", "", true},
		{"C", "", true}, // no "=": present, empty
		{"D", "x=y", true},
		{"PATH", "/bin", true},
		{"E", "", false},
		{"", "", false},
		{"a", "", false}, // case matters
	}
	for _, tt := range tests {
		got, ok := lookupEnv(env, tt.key)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("lookupEnv(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.wantOK)
		}
		if hasEnv(env, tt.key) != tt.wantOK {
			t.Errorf("hasEnv(%q) = %v, want %v", tt.key, !tt.wantOK, tt.wantOK)
		}
		if g := getEnv(env, tt.key); g != tt.want {
			t.Errorf("getEnv(%q) = %q, want %q", tt.key, g, tt.want)
		}
	}
	if _, ok := lookupEnv(nil, "A"); ok {
		t.Error("lookupEnv(nil) found A")
	}
}

func TestContainerEnv(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want []string
	}{
		{
			name: "empty: default PATH only",
			spec: Spec{},
			want: []string{"PATH=" + defaultPath},
		},
		{
			name: "image PATH is kept",
			spec: Spec{Env: []string{"PATH=/opt/bin", "A=1"}},
			want: []string{"PATH=/opt/bin", "A=1"},
		},
		{
			name: "default PATH goes first",
			spec: Spec{Env: []string{"A=1"}},
			want: []string{"PATH=" + defaultPath, "A=1"},
		},
		{
			name: "HOSTNAME from the spec",
			spec: Spec{Env: []string{"PATH=/bin"}, Hostname: "abc123"},
			want: []string{"PATH=/bin", "HOSTNAME=abc123"},
		},
		{
			name: "user's HOSTNAME wins",
			spec: Spec{Env: []string{"PATH=/bin", "HOSTNAME=mine"}, Hostname: "abc123"},
			want: []string{"PATH=/bin", "HOSTNAME=mine"},
		},
		{
			name: "TERM=xterm with a tty",
			spec: Spec{Env: []string{"PATH=/bin"}, Tty: true},
			want: []string{"PATH=/bin", "TERM=xterm"},
		},
		{
			name: "no TERM without a tty",
			spec: Spec{Env: []string{"PATH=/bin"}, Tty: false, Hostname: "h"},
			want: []string{"PATH=/bin", "HOSTNAME=h"},
		},
		{
			name: "user's TERM wins",
			spec: Spec{Env: []string{"PATH=/bin", "TERM=vt100"}, Tty: true},
			want: []string{"PATH=/bin", "TERM=vt100"},
		},
		{
			name: "everything",
			spec: Spec{Env: []string{"A=1"}, Hostname: "h", Tty: true},
			want: []string{"PATH=" + defaultPath, "A=1", "HOSTNAME=h", "TERM=xterm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := append([]string(nil), tt.spec.Env...)
			got := containerEnv(tt.spec)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("containerEnv = %q, want %q", got, tt.want)
			}
			// Unchanged (nil and empty are the same here).
			if !reflect.DeepEqual(tt.spec.Env, orig) && (len(orig) != 0 || len(tt.spec.Env) != 0) {
				t.Errorf("containerEnv changed spec.Env to %q", tt.spec.Env)
			}
		})
	}
}

func TestContainerEnvDoesNotAlias(t *testing.T) {
	base := make([]string, 1, 10) // spare capacity: append must not write into it
	base[0] = "A=1"
	spec := Spec{Env: base, Hostname: "h", Tty: true}
	got := containerEnv(spec)
	got[0] = "CHANGED=1"
	if base[0] != "A=1" {
		t.Errorf("containerEnv's result aliases spec.Env: %q", base[0])
	}
	if extra := base[:3]; extra[1] != "" || extra[2] != "" {
		t.Errorf("containerEnv wrote past spec.Env's length: %q", extra)
	}
}
