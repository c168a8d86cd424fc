package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment, and a blank line

alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
broken:x:1002
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`

const testGroup = `root:x:0:
daemon:x:1:
wheel:x:10:alice,bob
audio:x:29:alice
staff:x:50:
alice:x:1000:
bob:x:1001:
nogroup:x:65534:
`

func testRootfs(t *testing.T, passwd, group string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if passwd != "" {
		if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(passwd), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if group != "" {
		if err := os.WriteFile(filepath.Join(root, "etc/group"), []byte(group), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveUser(t *testing.T) {
	rootfs := testRootfs(t, testPasswd, testGroup)
	tests := []struct {
		spec    string
		want    identity
		wantErr string
		// anyGroups leaves the supplementary groups of the explicit
		// user:group form unchecked: Docker (moby/sys/user.GetExecUser)
		// sets none in that form, skiff keeps the user's.
		anyGroups bool
	}{
		{spec: "", want: identity{UID: 0, GID: 0, Home: "/root"}},
		{spec: "root", want: identity{UID: 0, GID: 0, Home: "/root"}},
		{spec: "0", want: identity{UID: 0, GID: 0, Home: "/root"}},
		{spec: "daemon", want: identity{UID: 1, GID: 1, Home: "/usr/sbin"}},
		{spec: "alice", want: identity{UID: 1000, GID: 1000, Groups: []int{10, 29}, Home: "/home/alice"}},
		{spec: "1000", want: identity{UID: 1000, GID: 1000, Groups: []int{10, 29}, Home: "/home/alice"}},
		{spec: "bob", want: identity{UID: 1001, GID: 1001, Groups: []int{10}, Home: "/home/bob"}},
		{spec: "nobody", want: identity{UID: 65534, GID: 65534, Home: "/nonexistent"}},
		// name:group and uid:gid, by name or number.
		{spec: "bob:staff", want: identity{UID: 1001, GID: 50, Home: "/home/bob"}, anyGroups: true},
		{spec: "1001:50", want: identity{UID: 1001, GID: 50, Home: "/home/bob"}, anyGroups: true},
		{spec: "alice:wheel", want: identity{UID: 1000, GID: 10, Home: "/home/alice"}, anyGroups: true},
		{spec: "daemon:audio", want: identity{UID: 1, GID: 29, Home: "/usr/sbin"}},
		{spec: "daemon:4321", want: identity{UID: 1, GID: 4321, Home: "/usr/sbin"}},
		{spec: ":staff", want: identity{UID: 0, GID: 50, Home: "/root"}},
		// A uid that passwd does not list: Docker runs it with gid 0 and home /.
		{spec: "4000", want: identity{UID: 4000, GID: 0, Home: "/"}},
		{spec: "4000:4000", want: identity{UID: 4000, GID: 4000, Home: "/"}},
		{spec: "4000:staff", want: identity{UID: 4000, GID: 50, Home: "/"}},
		// A passwd line with too few fields is still a user (moby/sys/user
		// parses it, as Docker does), with no home and gid 0.
		{spec: "1002", want: identity{UID: 1002, GID: 0, Home: "/"}},
		{spec: "broken", want: identity{UID: 1002, GID: 0, Home: "/"}},
		{spec: "mallory", wantErr: "unable to find user mallory: no matching entries in passwd file"},
		{spec: "mallory:staff", wantErr: "unable to find user mallory: no matching entries in passwd file"},
		{spec: "-5", wantErr: "unable to find user -5: no matching entries in passwd file"},
		{spec: "alice:nosuchgroup", wantErr: "unable to find group nosuchgroup: no matching entries in group file"},
		{spec: "alice:-1", wantErr: "unable to find group -1: no matching entries in group file"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := resolveUser(rootfs, tt.spec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("resolveUser(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveUser(%q): %v", tt.spec, err)
			}
			if tt.anyGroups {
				for _, g := range got.Groups {
					if g == got.GID {
						t.Errorf("resolveUser(%q): primary gid %d repeated in Groups %v", tt.spec, g, got.Groups)
					}
				}
				got.Groups = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("resolveUser(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestResolveUserWithoutFiles(t *testing.T) {
	// An image without /etc/passwd (scratch): numbers only.
	rootfs := testRootfs(t, "", "")
	tests := []struct {
		spec    string
		want    identity
		wantErr string
	}{
		{spec: "", want: identity{UID: 0, GID: 0, Home: "/"}},
		{spec: "0", want: identity{UID: 0, GID: 0, Home: "/"}},
		{spec: "1000", want: identity{UID: 1000, GID: 0, Home: "/"}},
		{spec: "1000:1000", want: identity{UID: 1000, GID: 1000, Home: "/"}},
		{spec: "root", wantErr: "unable to find user root: no matching entries in passwd file"},
		{spec: "0:wheel", wantErr: "unable to find group wheel: no matching entries in group file"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := resolveUser(rootfs, tt.spec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("resolveUser(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveUser(%q): %v", tt.spec, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("resolveUser(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
}

// touch creates path with mode, or a directory when mode is a dir mode.
func touch(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if mode.IsDir() {
		if err := os.Mkdir(path, mode.Perm()); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile is subject to the umask.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestLookPath(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	sbin := filepath.Join(root, "sbin")
	noexec := filepath.Join(root, "noexec")
	touch(t, filepath.Join(bin, "sh"), 0o755)
	touch(t, filepath.Join(bin, "onlyuser"), 0o700)
	touch(t, filepath.Join(bin, "onlyother"), 0o701)
	touch(t, filepath.Join(sbin, "init"), 0o755)
	touch(t, filepath.Join(sbin, "sh"), 0o755) // shadowed by bin/sh
	touch(t, filepath.Join(noexec, "tool"), 0o644)
	touch(t, filepath.Join(sbin, "tool"), 0o755) // found after noexec/tool
	touch(t, filepath.Join(root, "data.txt"), 0o644)
	touch(t, filepath.Join(root, "adir"), os.ModeDir|0o755)

	path := bin + ":" + sbin
	tests := []struct {
		name     string
		argv0    string
		pathEnv  string
		want     string
		wantCode int
		wantMsg  string
	}{
		{name: "found in the first directory", argv0: "sh", pathEnv: path, want: filepath.Join(bin, "sh")},
		{name: "found in a later directory", argv0: "init", pathEnv: path, want: filepath.Join(sbin, "init")},
		{name: "any execute bit will do", argv0: "onlyuser", pathEnv: path, want: filepath.Join(bin, "onlyuser")},
		{name: "other-execute bit", argv0: "onlyother", pathEnv: path, want: filepath.Join(bin, "onlyother")},
		{name: "a non-executable earlier match is passed over", argv0: "tool", pathEnv: noexec + ":" + sbin, want: filepath.Join(sbin, "tool")},
		{name: "missing directories in PATH are skipped", argv0: "sh", pathEnv: filepath.Join(root, "nope") + ":" + bin, want: filepath.Join(bin, "sh")},
		{
			name: "not found", argv0: "x", pathEnv: path,
			wantCode: 127, wantMsg: `exec: "x": executable file not found in $PATH`,
		},
		{
			name: "not found with an empty PATH (default PATH)", argv0: "skiff-no-such-command", pathEnv: "",
			wantCode: 127, wantMsg: `exec: "skiff-no-such-command": executable file not found in $PATH`,
		},
		{
			name: "absolute path", argv0: filepath.Join(bin, "sh"), pathEnv: "",
			want: filepath.Join(bin, "sh"),
		},
		{
			name: "absolute path, PATH not consulted", argv0: filepath.Join(sbin, "init"), pathEnv: bin,
			want: filepath.Join(sbin, "init"),
		},
		{
			name: "absolute path missing", argv0: filepath.Join(root, "missing"), pathEnv: path,
			wantCode: 127,
			wantMsg:  `exec: "` + filepath.Join(root, "missing") + `": stat ` + filepath.Join(root, "missing") + `: no such file or directory`,
		},
		{
			name: "absolute path not executable", argv0: filepath.Join(root, "data.txt"), pathEnv: path,
			wantCode: 126, wantMsg: `exec: "` + filepath.Join(root, "data.txt") + `": permission denied`,
		},
		{
			name: "absolute path is a directory", argv0: filepath.Join(root, "adir"), pathEnv: path,
			wantCode: 126, wantMsg: `exec: "` + filepath.Join(root, "adir") + `": is a directory`,
		},
		{
			name: "a directory named like the command in PATH is not a command", argv0: "adir", pathEnv: root,
			wantCode: 127, wantMsg: `exec: "adir": executable file not found in $PATH`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookPath(tt.argv0, tt.pathEnv)
			if tt.wantCode != 0 {
				var se *StartError
				if !errors.As(err, &se) {
					t.Fatalf("lookPath(%q, %q) = %q, %v; want a *StartError", tt.argv0, tt.pathEnv, got, err)
				}
				if se.Code != tt.wantCode || se.Msg != tt.wantMsg {
					t.Errorf("error = {%d %q}, want {%d %q}", se.Code, se.Msg, tt.wantCode, tt.wantMsg)
				}
				if err.Error() != tt.wantMsg {
					t.Errorf("Error() = %q, want %q", err.Error(), tt.wantMsg)
				}
				if got != "" {
					t.Errorf("path = %q with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("lookPath(%q, %q): %v", tt.argv0, tt.pathEnv, err)
			}
			if got != tt.want {
				t.Errorf("lookPath(%q, %q) = %q, want %q", tt.argv0, tt.pathEnv, got, tt.want)
			}
		})
	}
}

func TestLookPathRelativeDir(t *testing.T) {
	// An empty PATH element is the current directory, as in a shell.
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "here"), 0o755)
	t.Chdir(dir)
	for _, p := range []string{":/nonexistent", "/nonexistent:", "/nonexistent::/x"} {
		got, err := lookPath("here", p)
		if err != nil {
			t.Fatalf("lookPath(here, %q): %v", p, err)
		}
		if got != "here" {
			t.Errorf("lookPath(here, %q) = %q, want %q", p, got, "here")
		}
	}
	if !strings.Contains(defaultPath, "/usr/bin") || !strings.HasPrefix(defaultPath, "/usr/local/sbin:") {
		t.Errorf("defaultPath = %q, want Docker's default PATH", defaultPath)
	}
}
