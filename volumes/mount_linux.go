package volumes

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// validateOptions accepts the local driver's options: type, device, o.
func validateOptions(opts map[string]string) error {
	for k := range opts {
		switch k {
		case "type", "device", "o", "size":
		default:
			return fmt.Errorf("invalid option: %q", k)
		}
	}
	if opts["type"] != "" && opts["device"] == "" {
		return fmt.Errorf("missing device in volume options")
	}
	if opts["device"] != "" && opts["type"] == "" {
		return fmt.Errorf("missing type in volume options")
	}
	return nil
}

// needsMount reports whether the volume is a mount (tmpfs, bind, ...)
// rather than a plain directory.
func needsMount(v *Volume) bool { return v.Options["type"] != "" }

// Acquire makes the volume's data available at its Mountpoint for one
// more user: the first user of a tmpfs or bind volume mounts it.
func (s *Store) Acquire(v *Volume) error {
	if !needsMount(v) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounted[v.Name] > 0 {
		s.mounted[v.Name]++
		return nil
	}
	typ, dev, o := v.Options["type"], v.Options["device"], v.Options["o"]
	var flags uintptr
	var data []string
	for _, opt := range strings.Split(o, ",") {
		switch opt {
		case "":
		case "bind":
			flags |= unix.MS_BIND
		case "rbind":
			flags |= unix.MS_BIND | unix.MS_REC
		case "ro":
			flags |= unix.MS_RDONLY
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		default:
			data = append(data, opt)
		}
	}
	if typ == "none" || flags&unix.MS_BIND != 0 {
		typ = ""
		if _, err := os.Stat(dev); err != nil {
			return fmt.Errorf("error while mounting volume '%s': failed to mount local volume: %w", v.Mountpoint, err)
		}
	}
	if err := unix.Mount(dev, v.Mountpoint, typ, flags, strings.Join(data, ",")); err != nil {
		return fmt.Errorf("error while mounting volume '%s': failed to mount local volume: mount %s:%s, flags: %#x, data: %s: %w",
			v.Mountpoint, dev, v.Mountpoint, flags, strings.Join(data, ","), err)
	}
	s.mounted[v.Name] = 1
	return nil
}

// Release drops one user; the last one unmounts a mounted volume (an
// error is the unmount's: the volume is no longer counted as mounted).
func (s *Store) Release(v *Volume) error {
	if !needsMount(v) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounted[v.Name] == 0 {
		return nil
	}
	s.mounted[v.Name]--
	if s.mounted[v.Name] == 0 {
		delete(s.mounted, v.Name)
		if err := unix.Unmount(v.Mountpoint, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting volume %s: %w", v.Name, err)
		}
	}
	return nil
}
