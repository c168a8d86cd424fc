package cli

import (
	"context"
	"encoding/csv"
	"errors"
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

// ParseMount reads a --mount value (type=...,source=...,target=...) as
// the docker 28 CLI's MountOpt does: CSV fields (a value may be quoted),
// its keys and checks, its messages.
func ParseMount(value string) (mount.Mount, error) {
	fields, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return mount.Mount{}, err
	}
	m := mount.Mount{Type: mount.TypeVolume}
	volumeOptions := func() *mount.VolumeOptions {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{Labels: map[string]string{}}
		}
		if m.VolumeOptions.DriverConfig == nil {
			m.VolumeOptions.DriverConfig = &mount.Driver{}
		}
		return m.VolumeOptions
	}
	imageOptions := func() *mount.ImageOptions {
		if m.ImageOptions == nil {
			m.ImageOptions = &mount.ImageOptions{}
		}
		return m.ImageOptions
	}
	bindOptions := func() *mount.BindOptions {
		if m.BindOptions == nil {
			m.BindOptions = &mount.BindOptions{}
		}
		return m.BindOptions
	}
	tmpfsOptions := func() *mount.TmpfsOptions {
		if m.TmpfsOptions == nil {
			m.TmpfsOptions = &mount.TmpfsOptions{}
		}
		return m.TmpfsOptions
	}
	setValueOnMap := func(target map[string]string, value string) {
		if k, v, _ := strings.Cut(value, "="); k != "" {
			target[k] = v
		}
	}
	for _, field := range fields {
		key, val, ok := strings.Cut(field, "=")
		key = strings.ToLower(key)
		if !ok {
			switch key {
			case "readonly", "ro":
				m.ReadOnly = true
				continue
			case "volume-nocopy":
				volumeOptions().NoCopy = true
				continue
			case "bind-nonrecursive":
				bindOptions().NonRecursive = true
				continue
			default:
				return m, fmt.Errorf("invalid field '%s' must be a key=value pair", field)
			}
		}
		switch key {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
			if !filepath.IsAbs(val) && strings.HasPrefix(val, ".") {
				if abs, err := filepath.Abs(val); err == nil {
					m.Source = abs
				}
			}
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			if m.ReadOnly, err = strconv.ParseBool(val); err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
		case "consistency":
			m.Consistency = mount.Consistency(strings.ToLower(val))
		case "bind-propagation":
			bindOptions().Propagation = mount.Propagation(strings.ToLower(val))
		case "bind-nonrecursive":
			if bindOptions().NonRecursive, err = strconv.ParseBool(val); err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
		case "bind-recursive":
			switch val {
			case "enabled":
			case "disabled":
				bindOptions().NonRecursive = true
			case "writable":
				bindOptions().ReadOnlyNonRecursive = true
			case "readonly":
				bindOptions().ReadOnlyForceRecursive = true
			default:
				return m, fmt.Errorf(`invalid value for %s: %s (must be "enabled", "disabled", "writable", or "readonly")`, key, val)
			}
		case "volume-subpath":
			volumeOptions().Subpath = val
		case "volume-nocopy":
			if volumeOptions().NoCopy, err = strconv.ParseBool(val); err != nil {
				return m, fmt.Errorf("invalid value for volume-nocopy: %s", val)
			}
		case "volume-label":
			setValueOnMap(volumeOptions().Labels, val)
		case "volume-driver":
			volumeOptions().DriverConfig.Name = val
		case "volume-opt":
			if volumeOptions().DriverConfig.Options == nil {
				volumeOptions().DriverConfig.Options = map[string]string{}
			}
			setValueOnMap(volumeOptions().DriverConfig.Options, val)
		case "image-subpath":
			imageOptions().Subpath = val
		case "tmpfs-size":
			n, err := units.RAMInBytes(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			tmpfsOptions().SizeBytes = n
		case "tmpfs-mode":
			n, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			// As docker's: the octal bits as they are (01777 is the
			// sticky bit's 0o1000, not os.ModeSticky).
			tmpfsOptions().Mode = os.FileMode(n)
		default:
			return m, fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
	}
	if m.Type == "" {
		return m, errors.New("type is required")
	}
	if m.Target == "" {
		return m, errors.New("target is required")
	}
	for _, mix := range []struct {
		set  bool
		kind mount.Type
		name string
	}{
		{m.VolumeOptions != nil, mount.TypeVolume, "volume"},
		{m.ImageOptions != nil, mount.TypeImage, "image"},
		{m.BindOptions != nil, mount.TypeBind, "bind"},
		{m.TmpfsOptions != nil, mount.TypeTmpfs, "tmpfs"},
	} {
		if mix.set && m.Type != mix.kind {
			return m, fmt.Errorf("cannot mix '%s-*' options with mount type '%s'", mix.name, m.Type)
		}
	}
	if b := m.BindOptions; b != nil {
		if b.ReadOnlyNonRecursive && !m.ReadOnly {
			return m, errors.New("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction")
		}
		if b.ReadOnlyForceRecursive {
			if !m.ReadOnly {
				return m, errors.New("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction")
			}
			if b.Propagation != mount.PropagationRPrivate {
				return m, errors.New("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction")
			}
		}
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
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
				return &StatusError{Code: ws.ExitStatus()}
			}
			return &StatusError{Code: 125}
		}
		return &StatusError{Code: 125, Msg: err.Error()}
	}
	return nil
}
