// Package config decides where skiff keeps its state and reads the engine's settings.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Paths are the directories and files one skiff engine uses.
type Paths struct {
	// Rootless is true when the engine runs for an unprivileged user.
	Rootless bool
	// DataDir holds images, containers and volumes ($XDG_DATA_HOME/skiff, or /var/lib/skiff as root).
	DataDir string
	// RunDir holds the socket, pid files and other runtime state ($XDG_RUNTIME_DIR/skiff, or /run/skiff).
	RunDir string
	// ConfigFile is the engine's settings file (engine.json).
	ConfigFile string
}

// Socket is the path of the engine's API socket.
func (p Paths) Socket() string { return filepath.Join(p.RunDir, "skiff.sock") }

// EngineLog is where an engine started by the CLI writes its log.
func (p Paths) EngineLog() string { return filepath.Join(p.RunDir, "engine.log") }

// ContainersDir holds one directory per container.
func (p Paths) ContainersDir() string { return filepath.Join(p.DataDir, "containers") }

// StorageDir is the root of the containers/storage layer store.
func (p Paths) StorageDir() string { return filepath.Join(p.DataDir, "storage") }

// StorageRunDir is containers/storage's runtime directory.
func (p Paths) StorageRunDir() string { return filepath.Join(p.RunDir, "storage") }

// RootlessKitDir is rootlesskit's state directory.
func (p Paths) RootlessKitDir() string { return filepath.Join(p.RunDir, "rootlesskit") }

// Default returns the paths for the current user: XDG directories when
// rootless, /var/lib/skiff and /run/skiff as root. SKIFF_DATA_DIR and
// SKIFF_RUN_DIR override them.
func Default() (Paths, error) {
	p := Paths{Rootless: os.Geteuid() != 0 || os.Getenv(EnvInUserNS) != ""}
	if p.Rootless {
		home, err := os.UserHomeDir()
		if err != nil {
			return p, fmt.Errorf("finding the home directory: %w", err)
		}
		data := os.Getenv("XDG_DATA_HOME")
		if data == "" {
			data = filepath.Join(home, ".local", "share")
		}
		p.DataDir = filepath.Join(data, "skiff")
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			p.RunDir = filepath.Join(rt, "skiff")
		} else {
			p.RunDir = filepath.Join(os.TempDir(), "skiff-"+strconv.Itoa(HostUID()))
		}
		cfg := os.Getenv("XDG_CONFIG_HOME")
		if cfg == "" {
			cfg = filepath.Join(home, ".config")
		}
		p.ConfigFile = filepath.Join(cfg, "skiff", "engine.json")
	} else {
		p.DataDir = "/var/lib/skiff"
		p.RunDir = "/run/skiff"
		p.ConfigFile = "/etc/skiff/engine.json"
	}
	if v := os.Getenv("SKIFF_DATA_DIR"); v != "" {
		p.DataDir = v
	}
	if v := os.Getenv("SKIFF_RUN_DIR"); v != "" {
		p.RunDir = v
	}
	if v := os.Getenv("SKIFF_CONFIG"); v != "" {
		p.ConfigFile = v
	}
	return p, nil
}

// EnsureRunDir creates the runtime directory with mode 0700 and checks that
// it belongs to the current user, so that no other user can plant a socket.
func (p Paths) EnsureRunDir() error {
	if err := os.MkdirAll(p.RunDir, 0o700); err != nil {
		return err
	}
	st, err := os.Lstat(p.RunDir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", p.RunDir)
	}
	if uid := ownerUID(st); uid != os.Geteuid() && os.Getenv(EnvInUserNS) == "" {
		return fmt.Errorf("%s belongs to uid %d, not to you (uid %d)", p.RunDir, uid, os.Geteuid())
	}
	return os.Chmod(p.RunDir, 0o700)
}

// Settings are the engine's settings, read from engine.json. Environment
// variables (SKIFF_STORAGE_DRIVER) override the file.
type Settings struct {
	// StorageDriver is "overlay", "fuse-overlayfs" or "vfs"; empty means
	// detect once and record the choice.
	StorageDriver string `json:"storage-driver,omitempty"`
	// InsecureRegistries are reached over plain HTTP. Registries on
	// 127.0.0.0/8 and localhost always are, as with Docker.
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	// AllowHostLoopback lets rootless containers reach the host's
	// loopback services at 10.0.2.2 (off by default, as Docker rootless);
	// SKIFF_ALLOW_HOST_LOOPBACK=1 sets it too.
	AllowHostLoopback bool `json:"allow-host-loopback,omitempty"`
	// DNS are the servers the embedded DNS forwards to, and containers on
	// the default bridge use; empty means the host's.
	DNS []string `json:"dns,omitempty"`
	// Bridge names the default network's bridge interface (skiff0), and
	// BIP is its gateway address with the subnet's length (172.17.0.1/16),
	// as Docker's daemon.json "bridge" and "bip": two root engines on one
	// host need their own.
	Bridge string `json:"bridge,omitempty"`
	BIP    string `json:"bip,omitempty"`
}

// LoadSettings reads the settings file; a missing file means the defaults.
func LoadSettings(path string) (Settings, error) {
	var s Settings
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return s, err
	default:
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if os.Getenv("SKIFF_ALLOW_HOST_LOOPBACK") == "1" {
		s.AllowHostLoopback = true
	}
	if v := os.Getenv("SKIFF_STORAGE_DRIVER"); v != "" {
		s.StorageDriver = v
	}
	switch s.StorageDriver {
	case "", "overlay", "fuse-overlayfs", "vfs":
	default:
		return s, fmt.Errorf("unknown storage driver %q (want overlay, fuse-overlayfs or vfs)", s.StorageDriver)
	}
	return s, nil
}

// EnvInUserNS is set in the environment of the engine that runs inside
// skiff's user namespace, where it is uid 0 but still rootless.
const EnvInUserNS = "_SKIFF_IN_USERNS"

// EnvParentUID carries the user's host uid into skiff's user namespace.
const EnvParentUID = "_SKIFF_PARENT_EUID"

// HostUID is the user's uid on the host, also inside skiff's namespace.
func HostUID() int {
	if v := os.Getenv(EnvParentUID); v != "" && os.Getenv(EnvInUserNS) != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return os.Geteuid()
}
