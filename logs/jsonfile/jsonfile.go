// Package jsonfile is the json-file log driver (and skiff's "local", the
// same files with the local driver's defaults): Docker's line format,
// rotation by max-size, max-file and compress, and a reader that follows
// the log across rotations, also from another process.
package jsonfile

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/docker/go-units"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// Driver names.
const (
	Name      = "json-file"
	LocalName = "local"
)

// Config is how a log file rotates.
type Config struct {
	// MaxSize is the size at which the file rotates; -1 never.
	MaxSize int64
	// MaxFile is how many files are kept, the current one included.
	MaxFile int
	// Compress gzips rotated files.
	Compress bool
}

// LocalDefaults are Docker's local driver defaults, also those of the dual
// logging cache: 20 MiB, 5 files, compressed.
var LocalDefaults = Config{MaxSize: 20 * 1024 * 1024, MaxFile: 5, Compress: true}

// Keys are the options the json-file driver takes (Docker's, plus the
// attribute options).
var Keys = append([]string{"max-size", "max-file", "compress"}, logdriver.AttrOptions...)

// ParseConfig reads json-file's max-size (units.FromHumanSize, as Docker's
// json-file does: "10m" is 10,000,000 bytes), max-file and compress, with
// Docker's messages.
func ParseConfig(opts map[string]string) (Config, error) {
	cfg := Config{MaxSize: -1, MaxFile: 1}
	if v, ok := opts["max-size"]; ok {
		n, err := units.FromHumanSize(v)
		if err != nil {
			return cfg, logdriver.Errorf("%v", err)
		}
		if n <= 0 {
			return cfg, logdriver.Errorf("max-size must be a positive number")
		}
		cfg.MaxSize = n
	}
	if v, ok := opts["max-file"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return cfg, logdriver.Errorf("%v", err)
		}
		if n < 1 {
			return cfg, logdriver.Errorf("max-file cannot be less than 1")
		}
		cfg.MaxFile = n
	}
	if v, ok := opts["compress"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, logdriver.Errorf("%v", err)
		}
		if b && (cfg.MaxFile == 1 || cfg.MaxSize == -1) {
			return cfg, logdriver.Errorf("compress cannot be true when max-file is less than 2 or max-size is not set")
		}
		cfg.Compress = b
	}
	return cfg, nil
}

// ParseLocalConfig reads the local driver's options (and, with prefix
// "cache-", the dual logging cache's) over LocalDefaults, as Docker's
// local driver does.
func ParseLocalConfig(opts map[string]string, prefix string) (Config, error) {
	cfg := LocalDefaults
	if v, ok := opts[prefix+"max-size"]; ok {
		n, err := units.FromHumanSize(v)
		if err != nil {
			return cfg, logdriver.Errorf("invalid value for max-size: %s: %v", v, err)
		}
		cfg.MaxSize = n
	}
	if v, ok := opts[prefix+"max-file"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return cfg, logdriver.Errorf("invalid value for max-file: %s: %v", v, err)
		}
		cfg.MaxFile = n
	}
	if v, ok := opts[prefix+"compress"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, logdriver.Errorf("invalid boolean value for compress: %v", err)
		}
		cfg.Compress = b
	}
	switch {
	case cfg.MaxSize < 0:
		return cfg, logdriver.Errorf("max-size must not be negative")
	case cfg.MaxFile < 0:
		return cfg, logdriver.Errorf("max-file must not be negative")
	case cfg.Compress && cfg.MaxFile <= 1:
		return cfg, logdriver.Errorf("compression cannot be enabled when max file count is 1")
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = -1
	}
	if cfg.MaxFile == 0 {
		cfg.MaxFile = 1
	}
	return cfg, nil
}

// ValidateOptions checks json-file's options as New would, before
// anything is created.
func ValidateOptions(opts map[string]string) error {
	if err := logdriver.CheckKeys(Name, opts, Keys...); err != nil {
		return err
	}
	_, err := ParseConfig(opts)
	return err
}

// ValidateLocalOptions checks the local driver's options.
func ValidateLocalOptions(opts map[string]string) error {
	if err := logdriver.CheckKeys(LocalName, opts, Keys...); err != nil {
		return err
	}
	_, err := ParseLocalConfig(opts, "")
	return err
}

// Driver writes a json-file log. It implements logdriver.Driver and
// logdriver.BatchLogger.
type Driver struct {
	name  string
	lf    *logFile
	attrs []byte // the "attrs" JSON object, or nil
	buf   []byte // encoding buffer, under lf.mu
	// lastT and lastTS cache the formatting of the last time (the lines of
	// one read share it), under lf.mu.
	lastT  time.Time
	lastTS []byte
}

// New opens the json-file log at info.LogPath (appending to what is
// there) with the options of info.Config.
func New(info logdriver.Info) (*Driver, error) {
	cfg, err := ParseConfig(info.Config)
	if err != nil {
		return nil, err
	}
	return newDriver(Name, info, cfg)
}

// NewLocal opens a log with the local driver's options and defaults.
func NewLocal(info logdriver.Info) (*Driver, error) {
	cfg, err := ParseLocalConfig(info.Config, "")
	if err != nil {
		return nil, err
	}
	return newDriver(LocalName, info, cfg)
}

// Open opens the log at path with cfg and no attributes: the dual logging
// cache, and plain json-file logs.
func Open(path string, cfg Config) (*Driver, error) {
	return newDriver(Name, logdriver.Info{LogPath: path}, cfg)
}

func newDriver(name string, info logdriver.Info, cfg Config) (*Driver, error) {
	extra, err := info.ExtraAttributes(nil)
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	if info.Config[logdriver.OptTag] != "" {
		// No default: a tag only when the user asks for one.
		tag, err := info.Tag("")
		if err != nil {
			return nil, logdriver.Errorf("%v", err)
		}
		if tag != "" {
			extra[logdriver.OptTag] = tag
		}
	}
	var attrs []byte
	if len(extra) > 0 {
		if attrs, err = json.Marshal(extra); err != nil {
			return nil, err
		}
	}
	lf, err := openLogFile(info.LogPath, cfg.MaxSize, cfg.MaxFile, cfg.Compress, 0o640)
	if err != nil {
		return nil, err
	}
	return &Driver{name: name, lf: lf, attrs: attrs}, nil
}

// Name is "json-file" or "local".
func (d *Driver) Name() string { return d.name }

// Path is the file being written.
func (d *Driver) Path() string { return d.lf.path }

// Log writes one entry.
func (d *Driver) Log(m *logdriver.Message) error {
	d.lf.mu.Lock()
	defer d.lf.mu.Unlock()
	if err := d.add(m); err != nil {
		return err
	}
	return d.lf.flush()
}

// LogBatch writes the entries of ms with as few writes as rotation allows.
func (d *Driver) LogBatch(ms []*logdriver.Message) error {
	d.lf.mu.Lock()
	defer d.lf.mu.Unlock()
	for _, m := range ms {
		if err := d.add(m); err != nil {
			d.lf.flush()
			return err
		}
	}
	return d.lf.flush()
}

func (d *Driver) add(m *logdriver.Message) error {
	t := m.Timestamp.UTC()
	if !t.Equal(d.lastT) || d.lastTS == nil {
		d.lastT, d.lastTS = t, t.AppendFormat(d.lastTS[:0], time.RFC3339Nano)
	}
	d.buf = appendEntry(d.buf[:0], m.Line, m.Complete(), m.Source, d.attrs, d.lastTS)
	return d.lf.add(t, d.buf)
}

// Close writes what is queued and closes the file; it waits for a
// compression under way.
func (d *Driver) Close() error {
	d.lf.mu.Lock()
	defer d.lf.mu.Unlock()
	return d.lf.close()
}
