// Package volumes keeps named and anonymous volumes with Docker's "local"
// driver: a directory per volume, or a tmpfs or bind mount given by the
// volume's type/device/o options.
package volumes

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

// The store's errors, with the errdefs class that gives their HTTP status.
var (
	ErrNotFound = errdefs.ErrNotFound.WithMessage("no such volume")
	ErrInvalid  = errdefs.ErrInvalidArgument.WithMessage("invalid volume")
)

// AnonymousLabel marks volumes made for `-v /dir` and image VOLUMEs, as
// Docker 23+ does.
const AnonymousLabel = "com.docker.volume.anonymous"

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Volume is one volume's record.
type Volume struct {
	Name      string            `json:"name"`
	Driver    string            `json:"driver"`
	CreatedAt time.Time         `json:"createdAt"`
	Labels    map[string]string `json:"labels"`
	Options   map[string]string `json:"options"`
	// Mountpoint is the directory the volume's data is in.
	Mountpoint string `json:"-"`
}

// Anonymous reports whether the volume was made without a name.
func (v *Volume) Anonymous() bool {
	_, ok := v.Labels[AnonymousLabel]
	return ok
}

// Store is the set of volumes under one directory. It is safe for
// concurrent use.
type Store struct {
	root string
	mu   sync.Mutex
	// mounted counts the users of volumes whose options need a mount.
	mounted map[string]int
}

// Open opens (creating) the store in root.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, err
	}
	return &Store{root: root, mounted: map[string]int{}}, nil
}

func (s *Store) dir(name string) string { return filepath.Join(s.root, name) }

// ValidName reports whether name can name a local volume.
func ValidName(name string) bool { return validName.MatchString(name) }

// Create makes a volume; an empty name makes an anonymous one. Creating a
// volume that exists returns it, as Docker does.
func (s *Store) Create(name string, labels, opts map[string]string) (*Volume, error) {
	if name == "" {
		b := make([]byte, 32)
		rand.Read(b)
		name = hex.EncodeToString(b)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[AnonymousLabel] = ""
	}
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", ErrInvalid, name, name)
	}
	if err := validateOptions(opts); err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", ErrInvalid, name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, err := s.get(name); err == nil {
		return v, nil
	}
	if labels == nil {
		labels = map[string]string{}
	}
	if opts == nil {
		opts = map[string]string{}
	}
	v := &Volume{Name: name, Driver: "local", CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: labels, Options: opts}
	dir := s.dir(name)
	if err := os.MkdirAll(filepath.Join(dir, "_data"), 0o755); err != nil {
		return nil, err
	}
	// The volume root is 0701 as Docker's, so that processes in
	// containers (other uids) can reach _data.
	if err := os.Chmod(dir, 0o701); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(v)
	tmp := filepath.Join(dir, "opts.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "opts.json")); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	v.Mountpoint = filepath.Join(dir, "_data")
	return v, nil
}

// Get returns the volume called name.
func (s *Store) Get(name string) (*Volume, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(name)
}

func (s *Store) get(name string) (*Volume, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	b, err := os.ReadFile(filepath.Join(s.dir(name), "opts.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("reading volume %s: %w", name, err)
	}
	v.Mountpoint = filepath.Join(s.dir(name), "_data")
	return &v, nil
}

// List returns every volume, sorted by name.
func (s *Store) List() ([]*Volume, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Volume
	for _, e := range ents {
		if v, err := s.get(e.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the volume and its data. The caller checks that no
// container uses it.
func (s *Store) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(name); err != nil {
		return err
	}
	if s.mounted[name] > 0 {
		return fmt.Errorf("remove %s: volume is in use", name)
	}
	dir := s.dir(name)
	// Rename first, so that a half-removed volume never looks valid.
	trash := filepath.Join(s.root, ".removing-"+name)
	if err := os.Rename(dir, trash); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}

// Size is the disk usage of the volume's data, in bytes; what cannot be
// read (a file removed meanwhile, a directory the engine may not enter)
// is not counted.
func Size(v *Volume) int64 {
	var n int64
	// The walk function returns no error, so neither does Walk.
	_ = filepath.Walk(v.Mountpoint, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
