package engine

import (
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/runtime"
)

func TestWithEtcFiles(t *testing.T) {
	etc := []runtime.Mount{{Destination: "/etc/resolv.conf"}, {Destination: "/etc/hostname"}, {Destination: "/etc/hosts"}}
	user := []runtime.Mount{{Destination: "/data/sub"}, {Destination: "/etc"}, {Destination: "/etc/hosts/"}, {Destination: "/data"}}
	var got []string
	for _, m := range withEtcFiles(user, etc) {
		got = append(got, m.Destination)
	}
	// Parents first; the user's /etc/hosts replaces the engine's.
	want := "/etc /data /etc/resolv.conf /etc/hostname /data/sub /etc/hosts/"
	if strings.Join(got, " ") != want {
		t.Errorf("mounts %q, want %q", strings.Join(got, " "), want)
	}
}
