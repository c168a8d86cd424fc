// Package fluentd is the fluentd log driver, Docker's: records
// {container_id, container_name, source, log} over the Forward protocol
// with fluent-logger-golang, tagged {{.ID}} unless the tag option says
// otherwise.
package fluentd

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/fluent/fluent-logger-golang/fluent"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// Name is the driver's name.
const Name = "fluentd"

const (
	defaultBufferLimit = 1024 * 1024
	defaultHost        = "127.0.0.1"
	defaultPort        = 24224
	defaultProtocol    = "tcp"
	// Docker retries for ever (2^31-1 times).
	defaultMaxRetries = math.MaxInt32
	defaultRetryWait  = 1000

	minReconnectInterval = 100 * time.Millisecond
	maxReconnectInterval = 10 * time.Second

	addressKey                = "fluentd-address"
	asyncKey                  = "fluentd-async"
	asyncReconnectIntervalKey = "fluentd-async-reconnect-interval"
	bufferLimitKey            = "fluentd-buffer-limit"
	maxRetriesKey             = "fluentd-max-retries"
	requestAckKey             = "fluentd-request-ack"
	retryWaitKey              = "fluentd-retry-wait"
	subSecondPrecisionKey     = "fluentd-sub-second-precision"
	writeTimeoutKey           = "fluentd-write-timeout"
	readTimeoutKey            = "fluentd-read-timeout"
)

// Keys are the options the driver takes.
var Keys = append([]string{
	addressKey, asyncKey, asyncReconnectIntervalKey, bufferLimitKey, maxRetriesKey,
	requestAckKey, retryWaitKey, subSecondPrecisionKey, writeTimeoutKey, readTimeoutKey,
}, logdriver.AttrOptions...)

// ValidateOptions checks the options as Docker does, without dialing.
func ValidateOptions(opts map[string]string) error {
	if err := logdriver.CheckKeys(Name, opts, Keys...); err != nil {
		return err
	}
	_, err := parseConfig(opts)
	return err
}

// Driver posts each message as one record.
type Driver struct {
	tag           string
	containerID   string
	containerName string
	extra         map[string]string
	w             *fluent.Fluent
}

// New connects to fluentd (unless fluentd-async is set, when it connects in
// the background): an unreachable address fails here.
func New(info logdriver.Info) (*Driver, error) {
	cfg, err := parseConfig(info.Config)
	if err != nil {
		return nil, err
	}
	tag, err := info.Tag(logdriver.DefaultTag)
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	extra, err := info.ExtraAttributes(nil)
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	w, err := fluent.New(cfg)
	if err != nil {
		return nil, err
	}
	// Docker's container_name has the leading slash.
	name := info.ContainerName
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return &Driver{tag: tag, containerID: info.ContainerID, containerName: name, extra: extra, w: w}, nil
}

// Name is "fluentd".
func (d *Driver) Name() string { return Name }

// Log posts {container_id, container_name, source, log} and the extra
// attributes at the message's time; the pieces of a split line carry
// partial_message, partial_id, partial_ordinal and partial_last.
func (d *Driver) Log(m *logdriver.Message) error {
	data := map[string]string{
		"container_id":   d.containerID,
		"container_name": d.containerName,
		"source":         m.Source,
		"log":            string(m.Line),
	}
	for k, v := range d.extra {
		data[k] = v
	}
	if m.Partial != nil {
		data["partial_message"] = "true"
		data["partial_id"] = m.Partial.ID
		data["partial_ordinal"] = strconv.Itoa(m.Partial.Ordinal)
		data["partial_last"] = strconv.FormatBool(m.Partial.Last)
	}
	return d.w.PostWithTime(d.tag, m.Timestamp, data)
}

// Close sends what is pending (in async mode, it drops what is still
// queued, as Docker's does) and closes the connection.
func (d *Driver) Close() error { return d.w.Close() }

type location struct {
	protocol string
	host     string
	port     int
	path     string
}

func parseConfig(cfg map[string]string) (fluent.Config, error) {
	var config fluent.Config
	loc, err := parseAddress(cfg[addressKey])
	if err != nil {
		return config, logdriver.Errorf("invalid fluentd-address (%s): %v", cfg[addressKey], err)
	}
	bufferLimit := defaultBufferLimit
	if cfg[bufferLimitKey] != "" {
		n, err := units.RAMInBytes(cfg[bufferLimitKey])
		if err != nil {
			return config, logdriver.Errorf("%v", err)
		}
		bufferLimit = int(n)
	}
	retryWait := defaultRetryWait
	if cfg[retryWaitKey] != "" {
		d, err := time.ParseDuration(cfg[retryWaitKey])
		if err != nil {
			return config, logdriver.Errorf("%v", err)
		}
		retryWait = int(d.Seconds() * 1000)
	}
	maxRetries := defaultMaxRetries
	if cfg[maxRetriesKey] != "" {
		n, err := strconv.ParseUint(cfg[maxRetriesKey], 10, 32)
		if err != nil {
			return config, logdriver.Errorf("%v", err)
		}
		if n > math.MaxInt32 {
			return config, logdriver.Errorf("invalid fluentd-max-retries: value out of range")
		}
		maxRetries = int(n)
	}
	async, err := parseBool(cfg, asyncKey)
	if err != nil {
		return config, err
	}
	var reconnect int
	if cfg[asyncReconnectIntervalKey] != "" {
		d, err := time.ParseDuration(cfg[asyncReconnectIntervalKey])
		if err != nil {
			return config, logdriver.Errorf("invalid value for %s: %v", asyncReconnectIntervalKey, err)
		}
		if d != 0 {
			if d < minReconnectInterval || d > maxReconnectInterval {
				return config, logdriver.Errorf("invalid value for %s: value (%q) must be between %s and %s",
					asyncReconnectIntervalKey, d, minReconnectInterval, maxReconnectInterval)
			}
			reconnect = int(d.Milliseconds())
		}
	}
	subSecond, err := parseBool(cfg, subSecondPrecisionKey)
	if err != nil {
		return config, err
	}
	requestAck, err := parseBool(cfg, requestAckKey)
	if err != nil {
		return config, err
	}
	writeTimeout, err := parseTimeout(cfg, writeTimeoutKey)
	if err != nil {
		return config, err
	}
	readTimeout, err := parseTimeout(cfg, readTimeoutKey)
	if err != nil {
		return config, err
	}
	return fluent.Config{
		FluentPort:             loc.port,
		FluentHost:             loc.host,
		FluentNetwork:          loc.protocol,
		FluentSocketPath:       loc.path,
		BufferLimit:            bufferLimit,
		RetryWait:              retryWait,
		MaxRetry:               maxRetries,
		Async:                  async,
		AsyncReconnectInterval: reconnect,
		SubSecondPrecision:     subSecond,
		RequestAck:             requestAck,
		ForceStopAsyncSend:     async,
		WriteTimeout:           writeTimeout,
		ReadTimeout:            readTimeout,
	}, nil
}

func parseBool(cfg map[string]string, key string) (bool, error) {
	if cfg[key] == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(cfg[key])
	if err != nil {
		return false, logdriver.Errorf("%v", err)
	}
	return b, nil
}

func parseTimeout(cfg map[string]string, key string) (time.Duration, error) {
	if cfg[key] == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(cfg[key])
	if err != nil {
		return 0, logdriver.Errorf("invalid value for %s: value must be a duration: %v", key, err)
	}
	if d < 0 {
		return 0, logdriver.Errorf("invalid value for %s: value must be a duration that is non-negative", key)
	}
	return d, nil
}

// parseAddress reads fluentd-address: host:port, tcp://host:port,
// tls://host:port or unix:///path; empty is 127.0.0.1:24224 over tcp.
func parseAddress(address string) (*location, error) {
	if address == "" {
		return &location{protocol: defaultProtocol, host: defaultHost, port: defaultPort}, nil
	}
	if !strings.Contains(address, "://") {
		address = defaultProtocol + "://" + address
	}
	u, err := url.Parse(address)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "unix":
		if strings.TrimLeft(u.Path, "/") == "" {
			return nil, errors.New("path is empty")
		}
		return &location{protocol: u.Scheme, path: u.Path}, nil
	case "tcp", "tls":
	default:
		return nil, fmt.Errorf("unsupported scheme: '%s'", u.Scheme)
	}
	if u.Path != "" {
		return nil, errors.New("should not contain a path element")
	}
	host, port := defaultHost, defaultPort
	if h := u.Hostname(); h != "" {
		host = h
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("invalid port: %w", err)
		}
		port = int(n)
	}
	return &location{protocol: u.Scheme, host: host, port: port}, nil
}
