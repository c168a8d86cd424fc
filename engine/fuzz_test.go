package engine

import (
	"path"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
	"github.com/skiff-dev/skiff/cli"
)

// FuzzMountSpecs drives the engine's readers of a container's mounts with
// what a user types: -v (parseBind), --mount as the CLI sends it
// (cli.ParseMount, then parseMount) and --tmpfs (parseTmpfs). What they
// accept is a clean absolute destination other than /, of a known type.
func FuzzMountSpecs(f *testing.F) {
	for _, s := range []string{"/data", "vol:/d:ro", "/h:/c:rshared", "type=bind,src=/tmp,dst=/b", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777",
		"type=volume,src=v,dst=/v,volume-opt=type=tmpfs", "/t:size=1m,mode=1777,exec", "/t:uid=0,gid=0,nr_inodes=5", `\x:/y`, "/x:/../..:ro"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(what string, mp mountPoint, err error) {
			if err != nil {
				if statusOf(err) != 400 {
					t.Fatalf("%s %q: status %d for %v", what, s, statusOf(err), err)
				}
				return
			}
			d := mp.Destination
			if !path.IsAbs(d) || path.Clean(d) != d || d == "/" {
				t.Fatalf("%s %q: destination %q", what, s, d)
			}
			switch mp.Type {
			case mount.TypeBind:
				if !path.IsAbs(mp.Source) || path.Clean(mp.Source) != mp.Source {
					t.Fatalf("%s %q: bind source %q", what, s, mp.Source)
				}
			case mount.TypeVolume:
				if strings.Contains(mp.Name, "/") {
					t.Fatalf("%s %q: volume name %q", what, s, mp.Name)
				}
			case mount.TypeTmpfs:
				if strings.ContainsAny(mp.TmpfsData, "\n\x00") {
					t.Fatalf("%s %q: tmpfs data %q", what, s, mp.TmpfsData)
				}
			default:
				t.Fatalf("%s %q: type %q", what, s, mp.Type)
			}
		}
		mp, err := parseBind(s)
		check("-v", mp, err)
		if m, err := cli.ParseMount(s); err == nil {
			mp, err := parseMount(m)
			check("--mount", mp, err)
		}
		dst, o, _ := strings.Cut(s, ":")
		mp, err = parseTmpfs(dst, o)
		check("--tmpfs", mp, err)
	})
}
