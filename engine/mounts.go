package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/skiff-dev/skiff/images/unpack"
	"github.com/skiff-dev/skiff/opts"
	"github.com/skiff-dev/skiff/runtime"
	"github.com/skiff-dev/skiff/volumes"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/unshare"
	"golang.org/x/sys/unix"
)

// mountPoint is a container's mount as recorded: Docker's MountPoint plus
// what starting the container needs.
type mountPoint struct {
	container.MountPoint
	// TmpfsData and TmpfsFlags configure a tmpfs mount.
	TmpfsData  string  `json:",omitempty"`
	TmpfsFlags uintptr `json:",omitempty"`
	// NoCopy skips filling a new volume with the image's content.
	NoCopy bool `json:",omitempty"`
	// VolumeLabels and VolumeOpts create a missing volume (--mount
	// volume-label, volume-opt).
	VolumeLabels map[string]string `json:",omitempty"`
	VolumeOpts   map[string]string `json:",omitempty"`
}

var propagations = map[mount.Propagation]bool{
	"private": true, "rprivate": true, "shared": true, "rshared": true, "slave": true, "rslave": true,
}

// parseBind reads one -v value (HostConfig.Binds entry) with the Docker
// daemon's Linux parser (opts.ParseBind): /ctr, src:/ctr, src:/ctr:mode;
// src is an absolute host path (a bind mount) or a volume name.
func parseBind(spec string) (mountPoint, error) {
	var mp mountPoint
	b, err := opts.ParseBind(spec)
	if err != nil {
		return mp, errInvalid(err)
	}
	mp.Type, mp.Destination, mp.Mode, mp.RW, mp.NoCopy = b.Type, b.Destination, b.Mode, b.RW, b.NoCopy
	if b.Type == mount.TypeBind {
		mp.Source, mp.Propagation = b.Source, b.Propagation
		return mp, nil
	}
	if b.Source != "" && !volumes.ValidName(b.Source) {
		return mp, errInvalid(fmt.Errorf("create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", b.Source, b.Source))
	}
	mp.Name, mp.Driver = b.Source, "local"
	return mp, nil
}

// parseMount reads one --mount (HostConfig.Mounts entry).
func parseMount(m mount.Mount) (mountPoint, error) {
	var mp mountPoint
	bad := func(format string, a ...any) error {
		return errInvalid(fmt.Errorf("invalid mount config for type %q: %s", m.Type, fmt.Sprintf(format, a...)))
	}
	if m.Target == "" {
		return mp, bad("field Target must not be empty")
	}
	if !path.IsAbs(m.Target) {
		return mp, bad("invalid mount path: '%s' mount path must be absolute", m.Target)
	}
	mp.Type, mp.Destination, mp.RW = m.Type, path.Clean(m.Target), !m.ReadOnly
	if mp.Destination == "/" {
		return mp, errInvalid(errors.New("invalid specification: destination can't be '/'"))
	}
	if m.ReadOnly {
		mp.Mode = "ro"
	}
	switch m.Type {
	case mount.TypeBind:
		if m.Source == "" {
			return mp, bad("field Source must not be empty")
		}
		if !path.IsAbs(m.Source) {
			return mp, bad("invalid mount path: '%s' mount path must be absolute", m.Source)
		}
		if _, err := os.Stat(m.Source); err != nil {
			return mp, bad("bind source path does not exist: %s", m.Source)
		}
		if m.VolumeOptions != nil || m.TmpfsOptions != nil {
			return mp, bad("only BindOptions may be set")
		}
		mp.Source = path.Clean(m.Source)
		mp.Propagation = mount.PropagationRPrivate
		if m.BindOptions != nil && m.BindOptions.Propagation != "" {
			if !propagations[m.BindOptions.Propagation] {
				return mp, bad("invalid propagation mode: %s", m.BindOptions.Propagation)
			}
			mp.Propagation = m.BindOptions.Propagation
		}
	case mount.TypeVolume:
		if m.BindOptions != nil || m.TmpfsOptions != nil {
			return mp, bad("only VolumeOptions may be set")
		}
		if m.Source != "" && !volumes.ValidName(m.Source) {
			return mp, bad("invalid volume name %q", m.Source)
		}
		mp.Name, mp.Driver = m.Source, "local"
		if o := m.VolumeOptions; o != nil {
			mp.NoCopy, mp.VolumeLabels = o.NoCopy, o.Labels
			if o.DriverConfig != nil {
				if o.DriverConfig.Name != "" && o.DriverConfig.Name != "local" {
					return mp, bad("volume driver %q is not available (only \"local\")", o.DriverConfig.Name)
				}
				mp.VolumeOpts = o.DriverConfig.Options
			}
		}
	case mount.TypeTmpfs:
		if m.Source != "" {
			return mp, bad("field Source must not be specified")
		}
		if m.BindOptions != nil || m.VolumeOptions != nil {
			return mp, bad("only TmpfsOptions may be set")
		}
		var data []string
		if o := m.TmpfsOptions; o != nil {
			if o.SizeBytes < 0 {
				return mp, bad("invalid tmpfs size %d", o.SizeBytes)
			}
			if o.SizeBytes > 0 {
				data = append(data, fmt.Sprintf("size=%dk", (o.SizeBytes+1023)/1024))
			}
			if o.Mode != 0 {
				data = append(data, fmt.Sprintf("mode=%o", unixMode(o.Mode)))
			}
		}
		mp.TmpfsData = strings.Join(data, ",")
		mp.TmpfsFlags = unix.MS_NOSUID | unix.MS_NODEV
	default:
		return mp, bad("mount type unknown")
	}
	return mp, nil
}

// parseTmpfs reads one --tmpfs value: /path[:options].
func parseTmpfs(dst, opts string) (mountPoint, error) {
	var mp mountPoint
	// The daemon's ValidateTmpfsMountDestination: not / (a tmpfs over
	// the container's root), and absolute.
	if path.Clean(strings.ReplaceAll(dst, `\`, `/`)) == "/" {
		return mp, errInvalid(errors.New("invalid specification: destination can't be '/'"))
	}
	if !path.IsAbs(dst) {
		return mp, errInvalid(fmt.Errorf("invalid mount path: '%s' mount path must be absolute", dst))
	}
	mp.Type, mp.Destination, mp.RW = mount.TypeTmpfs, path.Clean(dst), true
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	var data []string
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "":
		case "ro":
			mp.RW = false
		case "rw":
		case "exec":
			flags &^= unix.MS_NOEXEC
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "suid":
			flags &^= unix.MS_NOSUID
		case "dev":
			flags &^= unix.MS_NODEV
		default:
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "size":
				if _, err := units.RAMInBytes(v); err != nil && !strings.HasSuffix(v, "%") {
					return mp, errInvalid(fmt.Errorf("invalid tmpfs option %q: %w", o, err))
				}
			case "mode":
				if _, err := strconv.ParseUint(v, 8, 32); err != nil {
					return mp, errInvalid(fmt.Errorf("invalid tmpfs option %q: mode must be octal", o))
				}
			case "uid", "gid", "nr_inodes", "nr_blocks", "mpol", "huge":
			default:
				return mp, errInvalid(fmt.Errorf("invalid tmpfs option %q", o))
			}
			data = append(data, o)
		}
	}
	mp.TmpfsData, mp.TmpfsFlags = strings.Join(data, ","), flags
	return mp, nil
}

// containerMounts works out a new container's mounts: --volumes-from,
// the image's VOLUMEs, -v, --mount and --tmpfs (later ones replace
// earlier ones at the same destination), creating the volumes they name
// and the missing host directories of -v binds. created lists the volumes
// it made, for the caller to remove if the container is not created.
func (e *Engine) containerMounts(hc *container.HostConfig, imageVolumes map[string]struct{}) (mps []mountPoint, created []string, err error) {
	byDest := map[string]mountPoint{}
	var order []string
	add := func(mp mountPoint) {
		if _, ok := byDest[mp.Destination]; !ok {
			order = append(order, mp.Destination)
		}
		byDest[mp.Destination] = mp
	}
	for _, from := range hc.VolumesFrom {
		name, mode, _ := strings.Cut(from, ":")
		if mode != "" && mode != "ro" && mode != "rw" {
			return nil, nil, errInvalid(fmt.Errorf("invalid mode for volumes-from: %s", mode))
		}
		src, err := e.lookup(name)
		if err != nil {
			return nil, nil, err
		}
		src.mu.Lock()
		for _, mp := range src.rec.Mounts {
			if mp.Type == mount.TypeTmpfs {
				continue
			}
			if mode != "" {
				mp.RW = mode == "rw"
				mp.Mode = mode
			}
			add(mp)
		}
		src.mu.Unlock()
	}
	dests := make([]string, 0, len(imageVolumes))
	for d := range imageVolumes {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	for _, d := range dests {
		if _, ok := byDest[path.Clean(d)]; !ok {
			add(mountPoint{MountPoint: container.MountPoint{Type: mount.TypeVolume, Destination: path.Clean(d), RW: true, Driver: "local"}})
		}
	}
	for _, b := range hc.Binds {
		mp, err := parseBind(b)
		if err != nil {
			return nil, nil, err
		}
		add(mp)
	}
	for _, m := range hc.Mounts {
		mp, err := parseMount(m)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := byDest[mp.Destination]; dup && containsDest(hc.Mounts, mp.Destination) > 1 {
			return nil, nil, errInvalid(fmt.Errorf("Duplicate mount point: %s", mp.Destination))
		}
		add(mp)
	}
	for dst, opts := range hc.Tmpfs {
		mp, err := parseTmpfs(dst, opts)
		if err != nil {
			return nil, nil, err
		}
		add(mp)
	}
	defer func() {
		if err != nil {
			for _, n := range created {
				err = errors.Join(err, e.volumes.Remove(n))
			}
			created = nil
		}
	}()
	for _, d := range order {
		mp := byDest[d]
		switch mp.Type {
		case mount.TypeVolume:
			existed := false
			if mp.Name != "" {
				_, gerr := e.volumes.Get(mp.Name)
				existed = gerr == nil
			}
			labels := map[string]string{}
			for k, v := range mp.VolumeLabels {
				labels[k] = v
			}
			v, err := e.volumes.Create(mp.Name, labels, mp.VolumeOpts)
			if err != nil {
				return nil, created, errInvalid(err)
			}
			if !existed {
				created = append(created, v.Name)
			}
			mp.Name, mp.Source = v.Name, v.Mountpoint
		case mount.TypeBind:
			// -v creates a missing host directory; --mount refuses (above).
			if _, err := os.Stat(mp.Source); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(mp.Source, 0o755); err != nil {
					return nil, created, errInvalid(fmt.Errorf("error while creating mount source path '%s': %w", mp.Source, err))
				}
			}
		}
		mps = append(mps, mp)
	}
	return mps, created, nil
}

func containsDest(ms []mount.Mount, dst string) int {
	n := 0
	for _, m := range ms {
		if path.Clean(m.Target) == dst {
			n++
		}
	}
	return n
}

// runtimeMounts turns the recorded mounts into the runtime's, parents
// before children, preparing volumes (mounting tmpfs/bind volumes, and
// filling new empty ones from the image). release undoes the preparation.
func (e *Engine) runtimeMounts(c *ctr, rootfs string) (out []runtime.Mount, release func(), err error) {
	var acquired []*volumes.Volume
	release = func() {
		for _, v := range acquired {
			if err := e.volumes.Release(v); err != nil {
				e.log.Printf("container %s: %v", c.rec.ID, err)
			}
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	mps := append([]mountPoint(nil), c.rec.Mounts...)
	sort.SliceStable(mps, func(i, j int) bool {
		return strings.Count(mps[i].Destination, "/") < strings.Count(mps[j].Destination, "/")
	})
	for _, mp := range mps {
		rm := runtime.Mount{Destination: mp.Destination, Source: mp.Source, ReadOnly: !mp.RW, Propagation: string(mp.Propagation)}
		switch mp.Type {
		case mount.TypeTmpfs:
			rm.Type, rm.Data, rm.Flags = "tmpfs", mp.TmpfsData, mp.TmpfsFlags
		case mount.TypeVolume:
			v, err := e.volumes.Get(mp.Name)
			if err != nil {
				return nil, release, fmt.Errorf("volume %s of container %s: %w", mp.Name, c.rec.Name, err)
			}
			if err := e.volumes.Acquire(v); err != nil {
				return nil, release, err
			}
			acquired = append(acquired, v)
			if !mp.NoCopy {
				if err := copyUp(rootfs, mp.Destination, v.Mountpoint); err != nil {
					return nil, release, fmt.Errorf("copying image content into volume %s: %w", mp.Name, err)
				}
			}
			rm.Source = v.Mountpoint
		case mount.TypeBind:
			if _, err := os.Stat(mp.Source); err != nil {
				return nil, release, fmt.Errorf("error while mounting %s: bind source path does not exist: %s", mp.Destination, mp.Source)
			}
		}
		out = append(out, rm)
	}
	return out, release, nil
}

// copyUp fills an empty volume with what the image has at dest, as
// Docker does when a volume is first mounted: owners, modes, times,
// hard links, extended attributes (user.*, security.capability) and
// holes kept, written with skiff's layer unpacker (confined to the
// volume).
func copyUp(rootfs, dest, volume string) error {
	src, err := securejoin.SecureJoin(rootfs, dest)
	if err != nil {
		return fmt.Errorf("copying the image's %s into the volume: %w", dest, err)
	}
	st, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !st.IsDir() {
		return nil
	}
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(volume)
	if err != nil || len(ents) > 0 {
		return err
	}
	sys := st.Sys().(*syscall.Stat_t)
	if err := os.Lchown(volume, int(sys.Uid), int(sys.Gid)); err != nil {
		return err
	}
	if err := os.Chmod(volume, chmodBits(st.Mode())); err != nil {
		return err
	}
	tr, err := archive.TarWithOptions(src, &archive.TarOptions{})
	if err != nil {
		return fmt.Errorf("copying the image's %s into the volume: %w", dest, err)
	}
	defer tr.Close()
	if _, err := unpack.Extract(volume, tr, unpack.Options{InUserNS: unshare.IsRootless()}); err != nil {
		return fmt.Errorf("copying the image's %s into the volume: %w", dest, err)
	}
	return nil
}

// chmodBits keeps the permission, sticky, setuid and setgid bits.
func chmodBits(m os.FileMode) os.FileMode {
	return m.Perm() | m&(os.ModeSticky|os.ModeSetuid|os.ModeSetgid)
}

// unixMode is m as the octal mode a tmpfs takes.
func unixMode(m os.FileMode) uint32 {
	// The docker CLI sends the octal bits as they are (01777 is 0o1000
	// set); skiff's older CLI sent Go's mode bits.
	u := uint32(m) & 0o7777
	if m&os.ModeSticky != 0 {
		u |= 0o1000
	}
	if m&os.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		u |= 0o4000
	}
	return u
}
