package opts

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"

	"github.com/moby/moby/api/types/mount"
)

// CheckVolumeFlag checks a -v value as the docker CLI does before it
// sends it (its compose loader's ParseVolume): "invalid spec: SPEC: empty
// section between colons", "... too many colons". A letter and a colon
// at the start are a Windows drive, as docker's.
func CheckVolumeFlag(spec string) error {
	switch len(spec) {
	case 0:
		return errors.New("invalid empty volume spec")
	case 1, 2:
		return nil
	}
	var (
		buffer         []rune
		source, target bool
	)
	const end = rune(0)
	for _, char := range spec + string(end) {
		switch {
		case char == ':' && len(buffer) == 1 && unicode.IsLetter(buffer[0]):
			buffer = append(buffer, char)
		case char == ':' || char == end:
			switch {
			case len(buffer) == 0:
				return fmt.Errorf("invalid spec: %s: empty section between colons", spec)
			case !source && char == end:
				// An anonymous volume: the target alone.
			case !source:
				source = true
			case !target:
				target = true
			case char == ':':
				return fmt.Errorf("invalid spec: %s: too many colons", spec)
			}
			buffer = buffer[:0]
		default:
			buffer = append(buffer, char)
		}
	}
	return nil
}

// Bind is a -v value (HostConfig.Binds entry) as the Docker daemon reads
// it.
type Bind struct {
	// Type is bind (Source is an absolute host path) or volume (Source
	// names one; empty for an anonymous volume).
	Type        mount.Type
	Source      string
	Destination string
	// Mode is the mode part as given; RW is false with "ro".
	Mode        string
	RW          bool
	Propagation mount.Propagation
	// NoCopy is the "nocopy" mode: a new volume is not filled from the
	// image.
	NoCopy bool
}

var (
	rwModes          = map[string]bool{"rw": true, "ro": true}
	labelModes       = map[string]bool{"z": true, "Z": true}
	propagationModes = map[mount.Propagation]bool{
		mount.PropagationPrivate: true, mount.PropagationRPrivate: true, mount.PropagationSlave: true,
		mount.PropagationRSlave: true, mount.PropagationShared: true, mount.PropagationRShared: true,
	}
	consistencyModes = map[mount.Consistency]bool{
		mount.ConsistencyFull: true, mount.ConsistencyCached: true, mount.ConsistencyDelegated: true,
	}
)

// ValidMountMode is the daemon's check of a -v mode: comma-separated,
// at most one of each kind (ro/rw, z/Z, a propagation, nocopy, a
// consistency), nothing else. "" is valid.
func ValidMountMode(mode string) bool {
	if mode == "" {
		return true
	}
	var rw, label, prop, cp, consistency int
	for _, o := range strings.Split(mode, ",") {
		switch {
		case rwModes[o]:
			rw++
		case labelModes[o]:
			label++
		case propagationModes[mount.Propagation(o)]:
			prop++
		case o == "nocopy":
			cp++
		case consistencyModes[mount.Consistency(o)]:
			consistency++
		default:
			return false
		}
	}
	return rw <= 1 && label <= 1 && prop <= 1 && cp <= 1 && consistency <= 1
}

// ParseBind reads a HostConfig.Binds entry as the Docker daemon's Linux
// parser does (ParseMountRaw): DEST, SOURCE:DEST or SOURCE:DEST:MODE,
// with its messages ("invalid volume specification: 'SPEC'", "invalid
// mode: MODE", "invalid volume specification: 'SPEC': invalid mount
// config for type "bind": ...").
func ParseBind(raw string) (Bind, error) {
	var b Bind
	invalidSpec := fmt.Errorf("invalid volume specification: '%s'", raw)
	arr := strings.SplitN(raw, ":", 4)
	if arr[0] == "" {
		return b, invalidSpec
	}
	var source, target, mode string
	switch len(arr) {
	case 1:
		target = arr[0]
	case 2:
		// DEST:MODE is no volume: a mode needs a source.
		if ValidMountMode(arr[1]) {
			return b, invalidSpec
		}
		source, target = arr[0], arr[1]
	case 3:
		source, target, mode = arr[0], arr[1], arr[2]
	default:
		return b, invalidSpec
	}
	if !ValidMountMode(mode) {
		return b, fmt.Errorf("invalid mode: %s", mode)
	}
	b.Type = mount.TypeVolume
	if path.IsAbs(source) {
		b.Type = mount.TypeBind
	}
	b.Mode, b.RW = mode, true
	var hasProp bool
	for _, o := range strings.Split(mode, ",") {
		switch {
		case o == "ro":
			b.RW = false
		case o == "nocopy":
			b.NoCopy = true
		case propagationModes[mount.Propagation(o)]:
			b.Propagation, hasProp = mount.Propagation(o), true
		}
	}
	bad := func(err error) (Bind, error) {
		return Bind{}, fmt.Errorf("%w: invalid mount config for type %q: %w", invalidSpec, b.Type, err)
	}
	if target == "" {
		return bad(errors.New("field Target must not be empty"))
	}
	// Docker reads backslashes as slashes here, and then mounts on the
	// path as given: `\x` passes its check and is a relative
	// destination. skiff takes an absolute path only.
	if t := strings.ReplaceAll(target, `\`, `/`); path.Clean(t) == "/" {
		return bad(errors.New("invalid specification: destination can't be '/'"))
	} else if !path.IsAbs(t) || !path.IsAbs(target) {
		return bad(fmt.Errorf("invalid mount path: '%s' mount path must be absolute", target))
	}
	switch b.Type {
	case mount.TypeBind:
		if b.NoCopy {
			return bad(errors.New("field VolumeOptions must not be specified"))
		}
		b.Source = path.Clean(source)
		if !hasProp {
			b.Propagation = mount.PropagationRPrivate
		}
	case mount.TypeVolume:
		if hasProp {
			return bad(errors.New("field BindOptions must not be specified"))
		}
		b.Source = source
	}
	b.Destination = path.Clean(target)
	return b, nil
}
