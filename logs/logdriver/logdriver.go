// Package logdriver defines what every log driver implements (Driver), what
// it is told about its container (Info) and the pieces they share: tag
// templates, extra attributes and Docker's option errors.
package logdriver

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// Message is one line of a container's output, or one piece of a line that
// was split.
type Message struct {
	// Line is the output without its trailing newline. It belongs to the
	// caller: a driver copies what it keeps past Log.
	Line []byte
	// Source is the stream, "stdout" or "stderr".
	Source string
	// Timestamp is when the line was read (every piece of a split line
	// carries the first piece's time, as Docker's copier does).
	Timestamp time.Time
	// Partial is set on the pieces of a line longer than the copier's
	// buffer, and on output that ended without a newline; nil for a whole
	// line.
	Partial *Partial
}

// Partial says where a piece of a split line belongs, as Docker's
// PartialLogMetaData does.
type Partial struct {
	// ID is the same for every piece of one line.
	ID string
	// Ordinal counts the pieces from 1.
	Ordinal int
	// Last is set on the piece that ended with the newline.
	Last bool
}

// Complete reports whether m ends a line: a whole line, or the last piece
// of a split one. File drivers add the newline back after such a message.
func (m *Message) Complete() bool { return m.Partial == nil || m.Partial.Last }

// Driver sends a container's output somewhere. Implementations are safe for
// concurrent use.
type Driver interface {
	// Log sends or stores one message. It must not keep m or m.Line after
	// it returns. An error means this message was not logged; later
	// messages may still be.
	Log(m *Message) error
	// Name is the driver's name, as given to --log-driver.
	Name() string
	// Close sends what the driver still buffers (within the driver's own
	// time limits) and releases it. Log is not called after Close.
	Close() error
}

// BufSizer is implemented by drivers that take lines longer than
// DefaultBufSize in one message (awslogs); the copier splits lines at
// BufSize bytes instead.
type BufSizer interface {
	BufSize() int
}

// BatchLogger is implemented by drivers that can store several messages in
// one operation (json-file: one write). LogBatch is Log for each message in
// order; the copier uses it for the lines of one read.
type BatchLogger interface {
	LogBatch(ms []*Message) error
}

// DefaultBufSize is the longest piece of a line in one message, as in
// Docker's copier (16 KiB).
const DefaultBufSize = 16 * 1024

// DefaultDaemonName is what {{.DaemonName}} gives when Info.DaemonName is
// empty. Docker's says "docker"; skiff names itself.
const DefaultDaemonName = "skiff"

// Info is what a driver knows of its container. Field names are Docker's
// (logger.Info), so tag templates that use them work unchanged.
type Info struct {
	// Config holds the --log-opt options.
	Config map[string]string
	// ContainerID is the full 64-character id.
	ContainerID string
	// ContainerName is the name, with or without Docker's leading slash.
	ContainerName string
	// ContainerEntrypoint and ContainerArgs make the command (the
	// container's Path and Args).
	ContainerEntrypoint string
	ContainerArgs       []string
	// ContainerImageID is the image id ("sha256:…").
	ContainerImageID string
	// ContainerImageName is the image as the user named it ("busybox").
	ContainerImageName string
	// ContainerCreated is when the container was created.
	ContainerCreated time.Time
	// ContainerEnv ("K=V") and ContainerLabels feed the env, env-regex,
	// labels and labels-regex options.
	ContainerEnv    []string
	ContainerLabels map[string]string
	// LogPath is the file a file driver (json-file, local, the dual-logging
	// cache) writes.
	LogPath string
	// DaemonName is {{.DaemonName}}; empty means DefaultDaemonName.
	DaemonName string
}

// ID is the container's 12-character short id.
func (info *Info) ID() string { return truncateID(info.ContainerID) }

// FullID is the container's full id.
func (info *Info) FullID() string { return info.ContainerID }

// Name is the container's name without the leading slash.
func (info *Info) Name() string { return strings.TrimPrefix(info.ContainerName, "/") }

// ImageID is the image's short id (12 characters, no algorithm).
func (info *Info) ImageID() string { return truncateID(info.ContainerImageID) }

// ImageFullID is the image's full id ("sha256:…").
func (info *Info) ImageFullID() string { return info.ContainerImageID }

// ImageName is the image's name as the user gave it.
func (info *Info) ImageName() string { return info.ContainerImageName }

// Command is the entrypoint followed by the arguments, space-separated.
func (info *Info) Command() string {
	return strings.Join(append([]string{info.ContainerEntrypoint}, info.ContainerArgs...), " ")
}

// Hostname is the host's name.
func (info *Info) Hostname() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("logger: can not resolve hostname: %w", err)
	}
	return h, nil
}

func (info *Info) daemonName() string {
	if info.DaemonName == "" {
		return DefaultDaemonName
	}
	return info.DaemonName
}

func truncateID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// Options every driver accepts, handled by the extra attributes and the
// tag template.
const (
	OptEnv         = "env"
	OptEnvRegex    = "env-regex"
	OptLabels      = "labels"
	OptLabelsRegex = "labels-regex"
	OptTag         = "tag"
)

// ExtraAttributes returns the labels and environment variables that the
// labels, labels-regex, env and env-regex options select, keyed by name
// (passed through keyMod when it is not nil).
func (info *Info) ExtraAttributes(keyMod func(string) string) (map[string]string, error) {
	extra := map[string]string{}
	add := func(k, v string) {
		if keyMod != nil {
			k = keyMod(k)
		}
		extra[k] = v
	}
	if labels := info.Config[OptLabels]; labels != "" {
		for _, l := range strings.Split(labels, ",") {
			if v, ok := info.ContainerLabels[l]; ok {
				add(l, v)
			}
		}
	}
	if expr := info.Config[OptLabelsRegex]; expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, err
		}
		for k, v := range info.ContainerLabels {
			if re.MatchString(k) {
				add(k, v)
			}
		}
	}
	env := map[string]string{}
	for _, e := range info.ContainerEnv {
		if k, v, ok := strings.Cut(e, "="); ok {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return extra, nil
	}
	if names := info.Config[OptEnv]; names != "" {
		for _, k := range strings.Split(names, ",") {
			if v, ok := env[k]; ok {
				add(k, v)
			}
		}
	}
	if expr := info.Config[OptEnvRegex]; expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, err
		}
		for k, v := range env {
			if re.MatchString(k) {
				add(k, v)
			}
		}
	}
	return extra, nil
}

// ErrInvalidConfig is matched (errors.Is) by every error about a driver's
// name or options; the engine answers those with 400, as Docker does.
var ErrInvalidConfig = errors.New("invalid log configuration")

// ConfigError is an error in a log driver's name or options. Its text is
// Docker's, word for word.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Errorf formats a ConfigError.
func Errorf(format string, args ...any) error {
	return &ConfigError{Msg: fmt.Sprintf(format, args...)}
}

// UnknownOption is Docker's error for a key a driver does not take.
func UnknownOption(key, driver string) error {
	return Errorf("unknown log opt '%s' for %s log driver", key, driver)
}

// AttrOptions are the options of the drivers that attach labels and
// environment variables and take a tag: env, env-regex, labels,
// labels-regex, tag.
var AttrOptions = []string{OptEnv, OptEnvRegex, OptLabels, OptLabelsRegex, OptTag}

// CheckKeys refuses the first key of opts that is not one of keys, with
// Docker's message.
func CheckKeys(driver string, opts map[string]string, keys ...string) error {
	for k := range opts {
		known := false
		for _, want := range keys {
			if k == want {
				known = true
				break
			}
		}
		if !known {
			return UnknownOption(k, driver)
		}
	}
	return nil
}
