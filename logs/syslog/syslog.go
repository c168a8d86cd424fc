// Package syslog is the syslog log driver, Docker's: RackSec/srslog over
// udp, tcp, tcp+tls, unix or unixgram (default: the local syslog socket),
// in Docker's default, rfc3164, rfc5424 or rfc5424micro format.
package syslog

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	srslog "github.com/RackSec/srslog"
	"github.com/docker/go-connections/tlsconfig"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// Name is the driver's name.
const Name = "syslog"

const (
	secureProto = "tcp+tls"
	defaultPort = "514"
)

var facilities = map[string]srslog.Priority{
	"kern":     srslog.LOG_KERN,
	"user":     srslog.LOG_USER,
	"mail":     srslog.LOG_MAIL,
	"daemon":   srslog.LOG_DAEMON,
	"auth":     srslog.LOG_AUTH,
	"syslog":   srslog.LOG_SYSLOG,
	"lpr":      srslog.LOG_LPR,
	"news":     srslog.LOG_NEWS,
	"uucp":     srslog.LOG_UUCP,
	"cron":     srslog.LOG_CRON,
	"authpriv": srslog.LOG_AUTHPRIV,
	"ftp":      srslog.LOG_FTP,
	"local0":   srslog.LOG_LOCAL0,
	"local1":   srslog.LOG_LOCAL1,
	"local2":   srslog.LOG_LOCAL2,
	"local3":   srslog.LOG_LOCAL3,
	"local4":   srslog.LOG_LOCAL4,
	"local5":   srslog.LOG_LOCAL5,
	"local6":   srslog.LOG_LOCAL6,
	"local7":   srslog.LOG_LOCAL7,
}

// Keys are the options the driver takes.
var Keys = append([]string{
	"syslog-address", "syslog-facility", "syslog-tls-ca-cert", "syslog-tls-cert",
	"syslog-tls-key", "syslog-tls-skip-verify", "syslog-format",
}, logdriver.AttrOptions...)

// ValidateOptions checks the options as Docker does (a unix socket address
// must exist), without dialing.
func ValidateOptions(opts map[string]string) error {
	if err := logdriver.CheckKeys(Name, opts, Keys...); err != nil {
		return err
	}
	if _, _, err := parseAddress(opts["syslog-address"]); err != nil {
		return logdriver.Errorf("%v", err)
	}
	if _, err := parseFacility(opts["syslog-facility"]); err != nil {
		return logdriver.Errorf("%v", err)
	}
	if _, _, err := parseFormat(opts["syslog-format"], ""); err != nil {
		return logdriver.Errorf("%v", err)
	}
	return nil
}

// Driver sends each message as one syslog message: stdout at severity
// info, stderr at err, with the tag (default {{.ID}}) as the program name.
type Driver struct {
	w *srslog.Writer
}

// New dials the syslog server; an unreachable tcp, tcp+tls or unix address
// (or no local syslog socket) fails here.
func New(info logdriver.Info) (*Driver, error) {
	proto, addr, err := parseAddress(info.Config["syslog-address"])
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	facility, err := parseFacility(info.Config["syslog-facility"])
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	format, framer, err := parseFormat(info.Config["syslog-format"], proto)
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	tag, err := info.Tag(logdriver.DefaultTag)
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	var w *srslog.Writer
	if proto == secureProto {
		cfg, err := parseTLSConfig(info.Config)
		if err != nil {
			return nil, err
		}
		w, err = srslog.DialWithTLSConfig(proto, addr, facility, tag, cfg)
		if err != nil {
			return nil, err
		}
	} else if w, err = srslog.Dial(proto, addr, facility, tag); err != nil {
		return nil, err
	}
	w.SetFormatter(format)
	w.SetFramer(framer)
	return &Driver{w: w}, nil
}

// Name is "syslog".
func (d *Driver) Name() string { return Name }

// Log sends m; an empty line is not sent, as in Docker.
func (d *Driver) Log(m *logdriver.Message) error {
	if len(m.Line) == 0 {
		return nil
	}
	if m.Source == "stderr" {
		return d.w.Err(string(m.Line))
	}
	return d.w.Info(string(m.Line))
}

// Close closes the connection.
func (d *Driver) Close() error { return d.w.Close() }

// parseAddress splits syslog-address into srslog's network and address;
// "" is the local syslog socket.
func parseAddress(address string) (string, string, error) {
	if address == "" {
		return "", "", nil
	}
	u, err := url.Parse(address)
	if err != nil {
		return "", "", err
	}
	if u.Scheme == "unix" || u.Scheme == "unixgram" {
		if _, err := os.Stat(u.Path); err != nil {
			return "", "", err
		}
		return u.Scheme, u.Path, nil
	}
	if u.Scheme != "udp" && u.Scheme != "tcp" && u.Scheme != secureProto {
		return "", "", fmt.Errorf("unsupported scheme: '%s'", u.Scheme)
	}
	host := u.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		if !strings.Contains(err.Error(), "missing port in address") {
			return "", "", err
		}
		host = net.JoinHostPort(host, defaultPort)
	}
	return u.Scheme, host, nil
}

func parseFacility(facility string) (srslog.Priority, error) {
	if facility == "" {
		return srslog.LOG_DAEMON, nil
	}
	if p, ok := facilities[facility]; ok {
		return p, nil
	}
	if n, err := strconv.Atoi(facility); err == nil && 0 <= n && n <= 23 {
		return srslog.Priority(n << 3), nil
	}
	return 0, fmt.Errorf("invalid syslog facility")
}

func parseTLSConfig(opts map[string]string) (*tls.Config, error) {
	_, skip := opts["syslog-tls-skip-verify"]
	return tlsconfig.Client(tlsconfig.Options{
		CAFile:             opts["syslog-tls-ca-cert"],
		CertFile:           opts["syslog-tls-cert"],
		KeyFile:            opts["syslog-tls-key"],
		InsecureSkipVerify: skip,
	})
}

// parseFormat picks Docker's formatter and framer for syslog-format.
func parseFormat(format, proto string) (srslog.Formatter, srslog.Framer, error) {
	switch format {
	case "":
		return srslog.UnixFormatter, srslog.DefaultFramer, nil
	case "rfc3164":
		return srslog.RFC3164Formatter, srslog.DefaultFramer, nil
	case "rfc5424":
		if proto == secureProto {
			return rfc5424, srslog.RFC5425MessageLengthFramer, nil
		}
		return rfc5424, srslog.DefaultFramer, nil
	case "rfc5424micro":
		if proto == secureProto {
			return rfc5424micro, srslog.RFC5425MessageLengthFramer, nil
		}
		return rfc5424micro, srslog.DefaultFramer, nil
	default:
		return nil, nil, fmt.Errorf("Invalid syslog format")
	}
}

// rfc5424 is Docker's RFC 5424 formatter: the tag is both APP-NAME (which
// rsyslog shows as %syslogtag%) and MSGID.
func rfc5424(p srslog.Priority, hostname, tag, content string) string {
	return format5424(p, time.Now().Format(time.RFC3339), hostname, tag, content)
}

// rfc5424micro is rfc5424 with microseconds.
func rfc5424micro(p srslog.Priority, hostname, tag, content string) string {
	return format5424(p, time.Now().Format("2006-01-02T15:04:05.000000Z07:00"), hostname, tag, content)
}

func format5424(p srslog.Priority, ts, hostname, tag, content string) string {
	return fmt.Sprintf("<%d>%d %s %s %s %d %s - %s", p, 1, ts, hostname, tag, os.Getpid(), tag, content)
}
