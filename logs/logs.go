// Package logs starts a container's log driver (json-file, local, syslog,
// fluentd, awslogs or none, with Docker's dual logging cache), turns its
// output into lines for it, and reads json-file logs back for `logs`.
package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/docker/go-units"
	"github.com/skiff-dev/skiff/logs/awslogs"
	"github.com/skiff-dev/skiff/logs/fluentd"
	"github.com/skiff-dev/skiff/logs/jsonfile"
	"github.com/skiff-dev/skiff/logs/logdriver"
	"github.com/skiff-dev/skiff/logs/syslog"
)

// The types every driver shares; see package logdriver.
type (
	// Driver sends a container's output somewhere.
	Driver = logdriver.Driver
	// Message is one line, or a piece of one.
	Message = logdriver.Message
	// Info is what a driver knows of its container.
	Info = logdriver.Info
	// Entry is one line of a json-file log.
	Entry = jsonfile.Entry
	// ReadOptions select what Read and ReadLogs return.
	ReadOptions = jsonfile.ReadConfig
)

// ErrInvalidConfig is matched by every error about a driver's name or
// options (answer 400).
var ErrInvalidConfig = logdriver.ErrInvalidConfig

// ErrReadNotSupported is Docker's answer to `logs` for a container whose
// driver keeps nothing to read back (none, or a remote driver with
// cache-disabled=true).
var ErrReadNotSupported = errors.New("configured logging driver does not support reading")

// DefaultDriver is the driver of a container that names none.
const DefaultDriver = jsonfile.Name

// None is the driver that drops everything.
const None = "none"

type driverDef struct {
	validate func(map[string]string) error
	new      func(Info) (Driver, error)
	// remote drivers keep nothing to read; they get the local cache.
	remote bool
}

var drivers = map[string]driverDef{
	jsonfile.Name:      {validate: jsonfile.ValidateOptions, new: func(i Info) (Driver, error) { return jsonfile.New(i) }},
	jsonfile.LocalName: {validate: jsonfile.ValidateLocalOptions, new: func(i Info) (Driver, error) { return jsonfile.NewLocal(i) }},
	syslog.Name:        {validate: syslog.ValidateOptions, new: func(i Info) (Driver, error) { return syslog.New(i) }, remote: true},
	fluentd.Name:       {validate: fluentd.ValidateOptions, new: func(i Info) (Driver, error) { return fluentd.New(i) }, remote: true},
	awslogs.Name:       {validate: awslogs.ValidateOptions, new: func(i Info) (Driver, error) { return awslogs.New(i) }, remote: true},
	None:               {validate: func(map[string]string) error { return nil }, new: func(Info) (Driver, error) { return noneDriver{}, nil }},
}

// Drivers lists the drivers New knows, sorted (for `info`).
func Drivers() []string {
	var names []string
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Options every driver takes, as Docker's daemon does: the delivery mode,
// its buffer, and the dual logging cache's.
const (
	OptMode          = "mode"
	OptMaxBufferSize = "max-buffer-size"
	OptCacheDisabled = "cache-disabled"
	cachePrefix      = "cache-"
)

var builtinOptions = map[string]bool{
	OptMode: true, OptMaxBufferSize: true, OptCacheDisabled: true,
	cachePrefix + "max-size": true, cachePrefix + "max-file": true, cachePrefix + "compress": true,
}

// ValidateOptions checks a driver's name and --log-opt options as Docker's
// daemon does when a container is created, with Docker's messages
// ("unknown log opt 'foo' for json-file log driver", "logger: no log
// driver named 'foo' is registered"). It also parses the values that New
// would refuse (sizes, numbers, addresses), so that a container is never
// created with a log configuration that cannot start. It does not dial.
// An empty driver is DefaultDriver. Every error matches ErrInvalidConfig.
func ValidateOptions(driver string, opts map[string]string) error {
	if driver == "" {
		driver = DefaultDriver
	}
	if driver == None {
		return nil
	}
	switch opts[OptMode] {
	case "", "blocking", "non-blocking":
	default:
		return logdriver.Errorf("logger: logging mode not supported: %s", opts[OptMode])
	}
	if s, ok := opts[OptMaxBufferSize]; ok {
		if opts[OptMode] != "non-blocking" {
			return logdriver.Errorf("logger: max-buffer-size option is only supported with 'mode=non-blocking'")
		}
		if _, err := units.RAMInBytes(s); err != nil {
			return logdriver.Errorf("error parsing option max-buffer-size: %v", err)
		}
	}
	if v := opts[OptCacheDisabled]; v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return logdriver.Errorf("invalid value for option %s: %s", OptCacheDisabled, v)
		}
	}
	def, ok := drivers[driver]
	if !ok {
		return logdriver.Errorf("logger: no log driver named '%s' is registered", driver)
	}
	if def.remote {
		if _, err := jsonfile.ParseLocalConfig(opts, cachePrefix); err != nil {
			return err
		}
	}
	own := map[string]string{}
	for k, v := range opts {
		if !builtinOptions[k] {
			own[k] = v
		}
	}
	return def.validate(own)
}

// JSONPath is where json-file writes the log of container id whose
// directory is dir, as Docker names it: dir/<id>-json.log.
func JSONPath(dir, id string) string { return filepath.Join(dir, id+"-json.log") }

// LocalPath is where the local driver writes: dir/local-logs/container.log.
func LocalPath(dir string) string { return filepath.Join(dir, "local-logs", "container.log") }

// CachePath is the dual logging cache of a remote driver, a json-file log
// (rotated at cache-max-size, default 20 MiB, keeping cache-max-file,
// default 5, compressed unless cache-compress=false):
// dir/container-cached.log.
func CachePath(dir string) string { return filepath.Join(dir, "container-cached.log") }

// ReadPath is the json-file log that `logs` reads for a container of
// driver with options opts whose directory is dir, or ErrReadNotSupported.
// Read it with ReadLogs, which reads its rotated files too.
func ReadPath(driver string, opts map[string]string, dir, id string) (string, error) {
	switch driver {
	case "", jsonfile.Name:
		return JSONPath(dir, id), nil
	case jsonfile.LocalName:
		return LocalPath(dir), nil
	case None:
		return "", ErrReadNotSupported
	}
	if def, ok := drivers[driver]; ok && def.remote && useCache(opts) {
		return CachePath(dir), nil
	}
	return "", ErrReadNotSupported
}

func useCache(opts map[string]string) bool {
	v := opts[OptCacheDisabled]
	if v == "" {
		return true
	}
	b, err := strconv.ParseBool(v)
	return err == nil && !b
}

// New starts driver for the container that info describes. info.LogPath
// must be the container's json-file path, JSONPath(dir, id): json-file
// writes it and the other drivers' files live beside it (LocalPath(dir),
// CachePath(dir)). New validates the options (ValidateOptions), then opens
// the log or dials the remote driver (an unreachable syslog or fluentd
// fails here, as Docker's does) and, for a remote driver unless
// cache-disabled=true, opens the dual logging cache at CachePath(dir) and
// writes every message to both. With mode=non-blocking messages go
// through a buffer of max-buffer-size bytes (default 1 MB) and are dropped
// when it is full, as Docker does. An empty driver is DefaultDriver. Its
// errors read "failed to initialize logging driver: …", as Docker's.
func New(driver string, info Info) (Driver, error) {
	d, err := newDriver(driver, info)
	if err != nil {
		return nil, fmt.Errorf("failed to initialize logging driver: %w", err)
	}
	return d, nil
}

func newDriver(driver string, info Info) (Driver, error) {
	if driver == "" {
		driver = DefaultDriver
	}
	if err := ValidateOptions(driver, info.Config); err != nil {
		return nil, err
	}
	def := drivers[driver]
	dir := filepath.Dir(info.LogPath)
	own := info
	if driver == jsonfile.LocalName {
		own.LogPath = LocalPath(dir)
		if err := os.MkdirAll(filepath.Dir(own.LogPath), 0o700); err != nil {
			return nil, err
		}
	}
	d, err := def.new(own)
	if err != nil {
		return nil, err
	}
	if def.remote && useCache(info.Config) {
		cfg, err := jsonfile.ParseLocalConfig(info.Config, cachePrefix)
		if err != nil {
			d.Close()
			return nil, err
		}
		cache, err := jsonfile.Open(CachePath(dir), cfg)
		if err != nil {
			d.Close()
			return nil, err
		}
		d = &tee{Driver: d, cache: cache}
	}
	if info.Config[OptMode] == "non-blocking" {
		size := int64(-1)
		if s, ok := info.Config[OptMaxBufferSize]; ok {
			size, _ = units.RAMInBytes(s)
		}
		d = newRing(d, size)
	}
	return d, nil
}

// noneDriver drops everything.
type noneDriver struct{}

func (noneDriver) Log(*Message) error { return nil }
func (noneDriver) Name() string       { return None }
func (noneDriver) Close() error       { return nil }
