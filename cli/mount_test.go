package cli

import (
	"os"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

// --mount as the docker 28 CLI reads it (its opts.MountOpt), with its
// messages.
func TestParseMount(t *testing.T) {
	tests := []struct {
		in   string
		want mount.Mount
		err  string
	}{
		{in: "type=bind,src=/a,dst=/b,ro", want: mount.Mount{Type: "bind", Source: "/a", Target: "/b", ReadOnly: true}},
		{in: `type=bind,"src=/a,b",dst=/c`, want: mount.Mount{Type: "bind", Source: "/a,b", Target: "/c"}},
		{in: "dst=/v,volume-nocopy", want: mount.Mount{Type: "volume", Target: "/v",
			VolumeOptions: &mount.VolumeOptions{NoCopy: true, Labels: map[string]string{}, DriverConfig: &mount.Driver{}}}},
		{in: "type=tmpfs,dst=/t,tmpfs-mode=1777,tmpfs-size=1k", want: mount.Mount{Type: "tmpfs", Target: "/t",
			TmpfsOptions: &mount.TmpfsOptions{Mode: os.FileMode(0o1777), SizeBytes: 1024}}},
		{in: "src=v", err: "target is required"},
		{in: "type=,dst=/x", err: "type is required"},
		{in: "dst=/x,bogus", err: "invalid field 'bogus' must be a key=value pair"},
		{in: "dst=/x,bogus=1", err: "unexpected key 'bogus' in 'bogus=1'"},
		{in: "dst=/x,readonly=maybe", err: "invalid value for readonly: maybe"},
		{in: "type=tmpfs,dst=/t,tmpfs-size=abc", err: "invalid value for tmpfs-size: abc"},
		{in: "type=tmpfs,dst=/t,tmpfs-mode=9", err: "invalid value for tmpfs-mode: 9"},
		{in: "type=bind,src=/a,dst=/b,volume-nocopy", err: "cannot mix 'volume-*' options with mount type 'bind'"},
		{in: "type=volume,dst=/b,bind-propagation=shared", err: "cannot mix 'bind-*' options with mount type 'volume'"},
		{in: "type=bind,src=/a,dst=/b,bind-recursive=readonly", err: "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction"},
		{in: "type=bind,src=/a,dst=/b,bind-recursive=bogus", err: `invalid value for bind-recursive: bogus (must be "enabled", "disabled", "writable", or "readonly")`},
		{in: `type=bind,"src=/a`, err: `parse error on line 1, column 18: extraneous or missing " in quoted-field`},
	}
	for _, tt := range tests {
		got, err := ParseMount(tt.in)
		if errString(err) != tt.err {
			t.Errorf("%q: error %q, want %q", tt.in, errString(err), tt.err)
			continue
		}
		if err == nil && !mountEqual(got, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func mountEqual(a, b mount.Mount) bool {
	if a.Type != b.Type || a.Source != b.Source || a.Target != b.Target || a.ReadOnly != b.ReadOnly {
		return false
	}
	if (a.VolumeOptions == nil) != (b.VolumeOptions == nil) || (a.TmpfsOptions == nil) != (b.TmpfsOptions == nil) {
		return false
	}
	if a.TmpfsOptions != nil && (a.TmpfsOptions.Mode != b.TmpfsOptions.Mode || a.TmpfsOptions.SizeBytes != b.TmpfsOptions.SizeBytes) {
		return false
	}
	return a.VolumeOptions == nil || a.VolumeOptions.NoCopy == b.VolumeOptions.NoCopy
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
