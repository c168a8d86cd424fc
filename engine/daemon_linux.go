package engine

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/userns"
	"golang.org/x/sys/unix"
)

// Main runs `skiff engine`: as an unprivileged user it first builds the
// rootless namespaces (rootlesskit) and runs the engine inside them; as
// root, or once inside, it serves the API until SIGINT or SIGTERM.
func Main(args []string) error {
	logger := log.New(os.Stderr, "skiff-engine: ", log.LstdFlags)
	if userns.IsChild() {
		return userns.RunChild(userns.Opt{Log: os.Stderr, TargetArgs: args})
	}
	paths, err := config.Default()
	if err != nil {
		return err
	}
	if err := paths.EnsureRunDir(); err != nil {
		return err
	}
	lock, err := lockFile(filepath.Join(paths.RunDir, "engine.lock"), !userns.Inside())
	if err != nil {
		return err
	}
	defer lock.Close()
	if !userns.Inside() {
		// The outermost engine process: what `kill $(cat engine.pid)` stops.
		pidFile := filepath.Join(paths.RunDir, "engine.pid")
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
			return err
		}
		defer os.Remove(pidFile)
	}
	settings, err := config.LoadSettings(paths.ConfigFile)
	if err != nil {
		return err
	}
	if paths.Rootless && !userns.Inside() {
		return userns.RunParent(userns.Opt{
			StateDir:          paths.RootlessKitDir(),
			Log:               os.Stderr,
			AllowHostLoopback: settings.AllowHostLoopback,
			TargetArgs:        args,
		})
	}
	e, err := New(Options{
		Paths:       paths,
		Settings:    settings,
		NetNS:       os.Getenv(userns.EnvNetNS),
		PortAPISock: os.Getenv(userns.EnvAPISock),
		Log:         logger,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return e.Serve(ctx)
}

// lockFile takes an exclusive lock so that only one engine runs per user.
// Inside the namespaces the lock is already held by the parent, so it is
// only opened (take=false).
func lockFile(path string, take bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if !take {
		return f, nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another skiff engine is running (%s is locked)", path)
	}
	return f, nil
}
