package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// clearEnv empties every variable Default and LoadSettings read, so the
// caller's environment cannot leak into a test; t.Setenv restores them.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"XDG_DATA_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "TMPDIR",
		"SKIFF_DATA_DIR", "SKIFF_RUN_DIR", "SKIFF_CONFIG", "SKIFF_STORAGE_DRIVER",
		EnvInUserNS, EnvParentUID,
	} {
		t.Setenv(k, "")
	}
}

func TestDefaultRootless(t *testing.T) {
	home := "/home/someone"
	euid := strconv.Itoa(os.Geteuid())
	tests := []struct {
		name string
		env  map[string]string
		want Paths
	}{
		{
			name: "XDG variables",
			env: map[string]string{
				"XDG_DATA_HOME":   "/xdg/data",
				"XDG_RUNTIME_DIR": "/run/user/1000",
				"XDG_CONFIG_HOME": "/xdg/config",
			},
			want: Paths{
				Rootless:   true,
				DataDir:    "/xdg/data/skiff",
				RunDir:     "/run/user/1000/skiff",
				ConfigFile: "/xdg/config/skiff/engine.json",
			},
		},
		{
			name: "no XDG variables: home directory and /tmp/skiff-UID",
			env:  map[string]string{},
			want: Paths{
				Rootless:   true,
				DataDir:    home + "/.local/share/skiff",
				RunDir:     "/tmp/skiff-" + euid,
				ConfigFile: home + "/.config/skiff/engine.json",
			},
		},
		{
			name: "TMPDIR moves the fallback run directory",
			env:  map[string]string{"TMPDIR": "/var/tmp"},
			want: Paths{
				Rootless:   true,
				DataDir:    home + "/.local/share/skiff",
				RunDir:     "/var/tmp/skiff-" + euid,
				ConfigFile: home + "/.config/skiff/engine.json",
			},
		},
		{
			name: "inside the user namespace the run directory uses the host uid",
			env:  map[string]string{EnvParentUID: "4242"},
			want: Paths{
				Rootless:   true,
				DataDir:    home + "/.local/share/skiff",
				RunDir:     "/tmp/skiff-4242",
				ConfigFile: home + "/.config/skiff/engine.json",
			},
		},
		{
			name: "SKIFF_* variables override everything",
			env: map[string]string{
				"XDG_DATA_HOME":   "/xdg/data",
				"XDG_RUNTIME_DIR": "/run/user/1000",
				"SKIFF_DATA_DIR":  "/data/skiff",
				"SKIFF_RUN_DIR":   "/run/skiff-test",
				"SKIFF_CONFIG":    "/etc/skiff-test.json",
			},
			want: Paths{
				Rootless:   true,
				DataDir:    "/data/skiff",
				RunDir:     "/run/skiff-test",
				ConfigFile: "/etc/skiff-test.json",
			},
		},
		{
			name: "only SKIFF_DATA_DIR",
			env:  map[string]string{"XDG_RUNTIME_DIR": "/run/user/7", "SKIFF_DATA_DIR": "/elsewhere"},
			want: Paths{
				Rootless:   true,
				DataDir:    "/elsewhere",
				RunDir:     "/run/user/7/skiff",
				ConfigFile: home + "/.config/skiff/engine.json",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("HOME", home)
			// _SKIFF_IN_USERNS makes the engine rootless whatever its
			// euid, so these cases hold for root and non-root runs.
			t.Setenv(EnvInUserNS, "1")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := Default()
			if err != nil {
				t.Fatalf("Default: %v", err)
			}
			if got != tt.want {
				t.Errorf("Default() =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestDefaultByEUID(t *testing.T) {
	clearEnv(t)
	t.Setenv("HOME", "/home/someone")
	got, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	if os.Geteuid() == 0 {
		want := Paths{Rootless: false, DataDir: "/var/lib/skiff", RunDir: "/run/skiff", ConfigFile: "/etc/skiff/engine.json"}
		if got != want {
			t.Errorf("as root: Default() = %+v, want %+v", got, want)
		}
		// SKIFF_* variables apply as root too.
		t.Setenv("SKIFF_DATA_DIR", "/d")
		t.Setenv("SKIFF_RUN_DIR", "/r")
		t.Setenv("SKIFF_CONFIG", "/c.json")
		got, err = Default()
		if err != nil {
			t.Fatalf("Default: %v", err)
		}
		want = Paths{Rootless: false, DataDir: "/d", RunDir: "/r", ConfigFile: "/c.json"}
		if got != want {
			t.Errorf("as root with overrides: Default() = %+v, want %+v", got, want)
		}
		return
	}
	if !got.Rootless {
		t.Errorf("euid %d: Rootless = false, want true", os.Geteuid())
	}
	if want := "/tmp/skiff-" + strconv.Itoa(os.Geteuid()); got.RunDir != want {
		t.Errorf("RunDir = %q, want %q", got.RunDir, want)
	}
}

func TestHostUID(t *testing.T) {
	euid := os.Geteuid()
	tests := []struct {
		name      string
		inUserNS  string
		parentUID string
		want      int
	}{
		{"in user namespace with parent uid", "1", "1234", 1234},
		{"parent uid without the namespace marker is ignored", "", "1234", euid},
		{"namespace marker without parent uid", "1", "", euid},
		{"non-numeric parent uid", "1", "abc", euid},
		{"neither", "", "", euid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvInUserNS, tt.inUserNS)
			t.Setenv(EnvParentUID, tt.parentUID)
			if got := HostUID(); got != tt.want {
				t.Errorf("HostUID() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPathsFiles(t *testing.T) {
	p := Paths{DataDir: "/data", RunDir: "/run/x"}
	tests := []struct {
		name, got, want string
	}{
		{"Socket", p.Socket(), "/run/x/skiff.sock"},
		{"EngineLog", p.EngineLog(), "/run/x/engine.log"},
		{"ContainersDir", p.ContainersDir(), "/data/containers"},
		{"StorageDir", p.StorageDir(), "/data/storage"},
		{"StorageRunDir", p.StorageRunDir(), "/run/x/storage"},
		{"RootlessKitDir", p.RootlessKitDir(), "/run/x/rootlesskit"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s() = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestLoadSettings(t *testing.T) {
	tests := []struct {
		name    string
		file    *string // nil: no file
		env     string  // SKIFF_STORAGE_DRIVER
		want    Settings
		wantErr string
	}{
		{name: "missing file means defaults", want: Settings{}},
		{name: "empty object", file: ptr(`{}`), want: Settings{}},
		{
			name: "all settings",
			file: ptr(`{"storage-driver": "vfs", "insecure-registries": ["myregistry.lan:5000", "10.0.0.0/8"]}`),
			want: Settings{StorageDriver: "vfs", InsecureRegistries: []string{"myregistry.lan:5000", "10.0.0.0/8"}},
		},
		{name: "overlay", file: ptr(`{"storage-driver": "overlay"}`), want: Settings{StorageDriver: "overlay"}},
		{name: "fuse-overlayfs", file: ptr(`{"storage-driver": "fuse-overlayfs"}`), want: Settings{StorageDriver: "fuse-overlayfs"}},
		{name: "unknown keys are ignored", file: ptr(`{"debug": true}`), want: Settings{}},
		{name: "bad JSON", file: ptr(`{"storage-driver": `), wantErr: "reading "},
		{name: "wrong type", file: ptr(`{"insecure-registries": "x"}`), wantErr: "reading "},
		{
			name:    "unknown driver",
			file:    ptr(`{"storage-driver": "btrfs"}`),
			wantErr: `unknown storage driver "btrfs" (want overlay, fuse-overlayfs or vfs)`,
		},
		{
			name: "environment overrides the file",
			file: ptr(`{"storage-driver": "overlay", "insecure-registries": ["r:5000"]}`),
			env:  "vfs",
			want: Settings{StorageDriver: "vfs", InsecureRegistries: []string{"r:5000"}},
		},
		{name: "environment without a file", env: "fuse-overlayfs", want: Settings{StorageDriver: "fuse-overlayfs"}},
		{
			name:    "environment names an unknown driver",
			file:    ptr(`{"storage-driver": "overlay"}`),
			env:     "zfs",
			wantErr: `unknown storage driver "zfs"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SKIFF_STORAGE_DRIVER", tt.env)
			path := filepath.Join(t.TempDir(), "engine.json")
			if tt.file != nil {
				if err := os.WriteFile(path, []byte(*tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := LoadSettings(path)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("LoadSettings = %+v, want error containing %q", got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %q, want it to contain %q", err, tt.wantErr)
				}
				if strings.HasPrefix(tt.wantErr, "reading ") && !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file %s", err, path)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadSettings: %v", err)
			}
			if got.StorageDriver != tt.want.StorageDriver {
				t.Errorf("StorageDriver = %q, want %q", got.StorageDriver, tt.want.StorageDriver)
			}
			if strings.Join(got.InsecureRegistries, ",") != strings.Join(tt.want.InsecureRegistries, ",") {
				t.Errorf("InsecureRegistries = %q, want %q", got.InsecureRegistries, tt.want.InsecureRegistries)
			}
		})
	}
}

func TestLoadSettingsUnreadable(t *testing.T) {
	t.Setenv("SKIFF_STORAGE_DRIVER", "")
	// A directory where the file should be: not "missing", so an error.
	dir := t.TempDir()
	if _, err := LoadSettings(dir); err == nil {
		t.Fatalf("LoadSettings(%s) on a directory: want an error", dir)
	}
}

func ptr(s string) *string { return &s }

func TestEnsureRunDir(t *testing.T) {
	t.Setenv(EnvInUserNS, "")
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns RunDir
		wantErr string
	}{
		{
			name:  "creates missing parents",
			setup: func(_ *testing.T, dir string) string { return filepath.Join(dir, "a", "b", "skiff") },
		},
		{
			name: "tightens an existing directory",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "skiff")
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, 0o777); err != nil {
					t.Fatal(err)
				}
				return p
			},
		},
		{
			name: "a file is refused",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "skiff")
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			},
			wantErr: "not a directory",
		},
		{
			name: "a symlink to a directory is refused",
			setup: func(t *testing.T, dir string) string {
				target := filepath.Join(dir, "target")
				if err := os.Mkdir(target, 0o700); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, "skiff")
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
				return p
			},
			wantErr: "is not a directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Under a 0022 or 0077 umask alike the result must be 0700.
			runDir := tt.setup(t, t.TempDir())
			err := Paths{RunDir: runDir}.EnsureRunDir()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("EnsureRunDir() = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureRunDir: %v", err)
			}
			st, err := os.Lstat(runDir)
			if err != nil {
				t.Fatal(err)
			}
			if !st.IsDir() {
				t.Fatalf("%s is not a directory", runDir)
			}
			if perm := st.Mode().Perm(); perm != 0o700 {
				t.Errorf("mode = %#o, want 0700", perm)
			}
		})
	}
}

func TestEnsureRunDirForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the directory to another uid")
	}
	dir := filepath.Join(t.TempDir(), "skiff")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvInUserNS, "")
	err := Paths{RunDir: dir}.EnsureRunDir()
	if want := "belongs to uid 12345, not to you (uid 0)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("EnsureRunDir() = %v, want error containing %q", err, want)
	}
	// Inside skiff's user namespace ownership is not checked (ids are mapped).
	t.Setenv(EnvInUserNS, "1")
	if err := (Paths{RunDir: dir}).EnsureRunDir(); err != nil {
		t.Fatalf("in the user namespace: EnsureRunDir() = %v, want nil", err)
	}
}
