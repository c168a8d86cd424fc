package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"github.com/skiff-dev/skiff/config"
)

// VolumeCreate creates a volume and prints its name.
func (c *CLI) VolumeCreate(ctx context.Context, name, driver string, labels, opts []string) error {
	res, err := c.API.VolumeCreate(ctx, client.VolumeCreateOptions{
		Name: name, Driver: driver, Labels: keyValues(labels), DriverOpts: keyValues(opts),
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Out, res.Volume.Name)
	return nil
}

func keyValues(kvs []string) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// VolumeLs lists volumes: DRIVER VOLUME NAME.
func (c *CLI) VolumeLs(ctx context.Context, quiet bool, filters []string, format string) error {
	f, err := parseFilterFlags(filters)
	if err != nil {
		return err
	}
	res, err := c.API.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		return err
	}
	if quiet {
		for _, v := range res.Items {
			fmt.Fprintln(c.Out, v.Name)
		}
		return nil
	}
	if format != "" {
		t, err := parseTemplate(format)
		if err != nil {
			return err
		}
		for _, v := range res.Items {
			if err := t.Execute(c.Out, v); err != nil {
				return err
			}
			fmt.Fprintln(c.Out)
		}
		return nil
	}
	tw := newTable(c.Out)
	fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
	for _, v := range res.Items {
		fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
	}
	return tw.Flush()
}

// VolumeInspect prints volumes as JSON or through a template.
func (c *CLI) VolumeInspect(ctx context.Context, names []string, format string) error {
	return c.inspectAll(names, format, func(n string) (inspected, error) {
		res, err := c.API.VolumeInspect(ctx, n, client.VolumeInspectOptions{})
		return inspected{raw: res.Raw}, err
	})
}

// VolumeRm removes volumes.
func (c *CLI) VolumeRm(ctx context.Context, names []string, force bool) error {
	return c.forEach(names, func(n string) error {
		_, err := c.API.VolumeRemove(ctx, n, client.VolumeRemoveOptions{Force: force})
		return err
	})
}

// VolumePrune removes unused anonymous volumes, or with all every unused one.
func (c *CLI) VolumePrune(ctx context.Context, all bool) error {
	res, err := c.API.VolumePrune(ctx, client.VolumePruneOptions{All: all})
	if err != nil {
		return err
	}
	printPruned(c.Out, "Deleted Volumes:", res.Report.VolumesDeleted, res.Report.SpaceReclaimed)
	return nil
}

// ParseMount reads a --mount value (type=...,source=...,target=...) the
// way the docker CLI does.
func ParseMount(value string) (mount.Mount, error) {
	m := mount.Mount{Type: mount.TypeVolume}
	volOpt := func() *mount.VolumeOptions {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{}
		}
		return m.VolumeOptions
	}
	tmpfsOpt := func() *mount.TmpfsOptions {
		if m.TmpfsOptions == nil {
			m.TmpfsOptions = &mount.TmpfsOptions{}
		}
		return m.TmpfsOptions
	}
	for _, field := range strings.Split(value, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		boolVal := func() (bool, error) {
			if !hasVal {
				return true, nil
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return false, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			return b, nil
		}
		if !hasVal && key != "readonly" && key != "ro" && key != "volume-nocopy" && key != "bind-nonrecursive" {
			return m, fmt.Errorf("invalid field '%s' must be a key=value pair", field)
		}
		var err error
		switch key {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			m.ReadOnly, err = boolVal()
		case "consistency":
			m.Consistency = mount.Consistency(val)
		case "bind-propagation":
			if m.BindOptions == nil {
				m.BindOptions = &mount.BindOptions{}
			}
			m.BindOptions.Propagation = mount.Propagation(strings.ToLower(val))
		case "bind-nonrecursive":
			if m.BindOptions == nil {
				m.BindOptions = &mount.BindOptions{}
			}
			m.BindOptions.NonRecursive, err = boolVal()
		case "volume-nocopy":
			volOpt().NoCopy, err = boolVal()
		case "volume-label":
			k, v, _ := strings.Cut(val, "=")
			if volOpt().Labels == nil {
				volOpt().Labels = map[string]string{}
			}
			volOpt().Labels[k] = v
		case "volume-driver":
			if volOpt().DriverConfig == nil {
				volOpt().DriverConfig = &mount.Driver{}
			}
			volOpt().DriverConfig.Name = val
		case "volume-opt":
			if volOpt().DriverConfig == nil {
				volOpt().DriverConfig = &mount.Driver{}
			}
			if volOpt().DriverConfig.Options == nil {
				volOpt().DriverConfig.Options = map[string]string{}
			}
			k, v, _ := strings.Cut(val, "=")
			volOpt().DriverConfig.Options[k] = v
		case "tmpfs-size":
			var n int64
			n, err = units.RAMInBytes(val)
			tmpfsOpt().SizeBytes = n
		case "tmpfs-mode":
			var n uint64
			n, err = strconv.ParseUint(val, 8, 32)
			mode := os.FileMode(n & 0o777)
			if n&0o1000 != 0 {
				mode |= os.ModeSticky
			}
			tmpfsOpt().Mode = mode
		default:
			return m, fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
		if err != nil {
			return m, fmt.Errorf("invalid value for %s: %s", key, val)
		}
	}
	if m.Target == "" {
		return m, fmt.Errorf("target is required")
	}
	return m, nil
}

// Unshare runs cmd inside the engine's user and mount namespaces, where
// the user is root and files on their subuid range are theirs (as
// `podman unshare`); with net, also in the network namespace that holds
// the bridges (as `podman unshare --rootless-netns`). As root it just runs
// cmd: the bridges are the host's.
func Unshare(args []string, net bool) error {
	if len(args) == 0 {
		args = []string{os.Getenv("SHELL")}
		if args[0] == "" {
			args[0] = "/bin/sh"
		}
	}
	paths, err := config.Default()
	if err != nil {
		return err
	}
	var cmd *exec.Cmd
	if !paths.Rootless {
		cmd = exec.Command(args[0], args[1:]...)
	} else {
		b, err := os.ReadFile(filepath.Join(paths.RootlessKitDir(), "child_pid"))
		if err != nil {
			return &StatusError{Code: 125, Msg: "the skiff engine is not running (start it with any skiff command, e.g. skiff ps)"}
		}
		pid := strings.TrimSpace(string(b))
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return &StatusError{Code: 125, Msg: "nsenter (util-linux) is needed for skiff unshare"}
		}
		if net {
			// The namespace's file is a bind mount in the engine's mount
			// namespace: a second nsenter, inside, opens it.
			args = append([]string{nsenter, "--net=" + filepath.Join(paths.RootlessKitDir(), "netns"), "--"}, args...)
		}
		// Without --preserve-credentials, nsenter becomes root in the namespace.
		cmd = exec.Command(nsenter, append([]string{"-t", pid, "-U", "-m", "--"}, args...)...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
				return &StatusError{Code: ws.ExitStatus()}
			}
			return &StatusError{Code: 125}
		}
		return &StatusError{Code: 125, Msg: err.Error()}
	}
	return nil
}
