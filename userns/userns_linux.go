// Package userns starts the rootless engine inside rootlesskit's user, mount
// and network namespaces, mapping the user's subuid/subgid range.
package userns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/rootless-containers/rootlesskit/v3/pkg/child"
	"github.com/rootless-containers/rootlesskit/v3/pkg/network/slirp4netns"
	"github.com/rootless-containers/rootlesskit/v3/pkg/parent"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port/builtin"
	"github.com/skiff-dev/skiff/config"
)

const (
	envPipeFD     = "_SKIFF_ROOTLESSKIT_PIPEFD"
	envActivation = "_SKIFF_ROOTLESSKIT_ACTIVATION"
	envHelper     = "_SKIFF_ROOTLESSKIT_HELPER"
	envStateDir   = "_SKIFF_ROOTLESSKIT_STATEDIR"
	// EnvInside is set for the engine that runs inside the namespaces.
	EnvInside = config.EnvInUserNS
	// EnvNetNS names the detached network namespace that containers join.
	EnvNetNS = "_SKIFF_NETNS"
	// EnvAPISock names rootlesskit's API socket (port forwarding).
	EnvAPISock = "_SKIFF_ROOTLESSKIT_API"
	// SlirpMTU is the MTU of slirp4netns's tap device.
	SlirpMTU = 65520
)

// Opt configures the namespaces the engine runs in.
type Opt struct {
	// StateDir is rootlesskit's state directory; it is created if missing.
	StateDir string
	// Log receives the messages of slirp4netns and the port driver.
	Log io.Writer
	// AllowHostLoopback lets containers reach the host's loopback through
	// slirp4netns's 10.0.2.2.
	AllowHostLoopback bool
	// TargetArgs are the arguments (after the program name) of the engine
	// process started inside the namespaces.
	TargetArgs []string
}

// IsChild reports whether this process is rootlesskit's child, which sets up
// the namespaces and then starts the engine.
func IsChild() bool { return os.Getenv(envPipeFD) != "" }

// Inside reports whether this process already runs inside skiff's namespaces.
func Inside() bool { return os.Getenv(EnvInside) != "" }

// RunParent creates the namespaces and runs the engine in them; it returns
// when the engine exits. It runs in the host namespaces as the user.
func RunParent(opt Opt) error {
	if err := os.MkdirAll(opt.StateDir, 0o700); err != nil {
		return err
	}
	// An engine killed with SIGKILL leaves its state (a read-only
	// child_pid, sockets) behind: start clean, as rootlesskit's CLI does.
	if err := parent.InitStateDir(opt.StateDir); err != nil {
		return err
	}
	source, err := subidSource(opt)
	if err != nil {
		return err
	}
	netDriver, err := slirp4netns.NewParentDriver(opt.Log, "slirp4netns", SlirpMTU, nil, "tap0",
		!opt.AllowHostLoopback /* disable host loopback */, "",
		false /* sandbox: not compatible with a detached netns */, true /* seccomp */, false /* ipv6 */)
	if err != nil {
		return fmt.Errorf("slirp4netns: %w (hint: install the slirp4netns package)", err)
	}
	// Transparent source IP: a published TCP port's connections reach the
	// container from the client's own address.
	portDriver, err := builtin.NewParentDriver(opt.Log, opt.StateDir, true, "auto")
	if err != nil {
		return fmt.Errorf("port driver: %w", err)
	}
	return parent.Parent(parent.Opt{
		PipeFDEnvKey:             envPipeFD,
		ChildUseActivationEnvKey: envActivation,
		StateDir:                 opt.StateDir,
		StateDirEnvKey:           envStateDir,
		ParentEUIDEnvKey:         config.EnvParentUID,
		NetworkDriver:            netDriver,
		PortDriver:               portDriver,
		DetachNetNS:              true,
		Propagation:              "rslave",
		SubidSource:              source,
	})
}

// RunChild is rootlesskit's child: it finishes the namespaces and starts the
// engine (this program with opt.TargetArgs) inside them.
func RunChild(opt Opt) error {
	stateDir := os.Getenv(envStateDir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	os.Setenv(EnvInside, "1")
	os.Setenv(EnvNetNS, stateDir+"/netns")
	os.Setenv(EnvAPISock, stateDir+"/"+parent.StateFileAPISock)
	return child.Child(child.Opt{
		PipeFDEnvKey:              envPipeFD,
		RunActivationHelperEnvKey: envHelper,
		ChildUseActivationEnvKey:  envActivation,
		StateDirEnvKey:            envStateDir,
		TargetCmd:                 append([]string{self}, opt.TargetArgs...),
		NetworkDriver:             slirp4netns.NewChildDriver(),
		PortDriver:                builtin.NewChildDriver(opt.Log),
		DetachNetNS:               true,
		Propagation:               "rslave",
		Reaper:                    true,
	})
}

// subidSource picks where rootlesskit reads the user's subordinate ids.
// With ranges in /etc/subuid and /etc/subgid: those files. Without, it
// warns (only the user's own id is mapped, as root in the namespace, so
// images with files owned by other users cannot be unpacked faithfully)
// and hands rootlesskit skiff's own getsubids, which reports no range
// instead of failing, so that the one-id mapping goes ahead.
func subidSource(opt Opt) (parent.SubidSource, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	missing := false
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if !hasRange(f, u.Username, u.Uid) {
			missing = true
			fmt.Fprintf(opt.Log, "WARNING: no range for %s in %s: only your own id is mapped into the user namespace; "+
				"images with files owned by other users, and running as another user, will fail "+
				"(hint: as root, run: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s)\n", u.Username, f, u.Username)
		}
	}
	if !missing {
		return parent.SubidSourceStatic, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	link := filepath.Join(opt.StateDir, "getsubids")
	os.Remove(link)
	if err := os.Symlink(self, link); err != nil {
		return "", err
	}
	os.Setenv("GETSUBIDS", link)
	return parent.SubidSourceDynamic, nil
}

func hasRange(path, name, uid string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		owner, _, ok := strings.Cut(sc.Text(), ":")
		if ok && (owner == name || owner == uid) {
			return true
		}
	}
	return false
}
