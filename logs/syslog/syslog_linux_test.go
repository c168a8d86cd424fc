package syslog_test

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/logs/logdriver"
	"github.com/skiff-dev/skiff/logs/logstest"
	"github.com/skiff-dev/skiff/logs/syslog"
)

// line is the message text as sent: rsyslog's %msg% keeps the space after
// "tag[pid]:" of the RFC 3164 forms.
func line(format string, rec record) string {
	if format == "" || format == "rfc3164" {
		return strings.TrimPrefix(rec.Msg, " ")
	}
	return rec.Msg
}

// TestRsyslog sends through the driver to a real rsyslogd over every
// transport in every format, and checks what rsyslog parsed.
func TestRsyslog(t *testing.T) {
	r := startRsyslog(t)
	hostname, _ := os.Hostname()
	transports := []struct {
		name, address, input string
	}{
		{"udp", "udp://" + r.udp, "udp"},
		{"tcp", "tcp://" + r.tcp, "tcp"},
		{"tcp+tls", "tcp+tls://" + r.tls, "tls"},
		{"unixgram", "unixgram://" + r.unixgram, "imuxsock"},
	}
	// The raw message of each format, as Docker's formatters write it:
	// TAG, PID and HOST are filled in.
	formats := []struct {
		name string
		raw  string
	}{
		{"", `^<PRI>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d TAG\[PID\]: MSG$`},
		{"rfc3164", `^<PRI>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d HOST TAG\[PID\]: MSG$`},
		{"rfc5424", `^<PRI>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) HOST TAG PID TAG - MSG$`},
		{"rfc5424micro", `^<PRI>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d) HOST TAG PID TAG - MSG$`},
	}
	for _, tr := range transports {
		for _, f := range formats {
			t.Run(tr.name+"/"+f.name, func(t *testing.T) {
				if tr.name == "tcp+tls" && !r.tlsOK {
					t.Skip("rsyslog-openssl is missing")
				}
				info := logstest.NewInfo(t)
				info.Config["syslog-address"] = tr.address
				info.Config["syslog-format"] = f.name
				info.Config["syslog-tls-ca-cert"] = r.caFile
				if tr.name != "tcp+tls" {
					delete(info.Config, "syslog-tls-ca-cert")
				}
				d, err := syslog.New(info)
				if err != nil {
					t.Fatal(err)
				}
				msgs := []struct{ source, line, pri, severity string }{
					{"stdout", "hello from " + tr.name + " ☃", "30", "info"},
					{"stderr", "oops: <error> & 100%", "27", "err"},
				}
				for _, m := range msgs {
					if err := d.Log(&logdriver.Message{Line: []byte(m.line), Source: m.source}); err != nil {
						t.Fatal(err)
					}
				}
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				tag := info.ID()
				got := r.messages(t, tag, len(msgs))
				if len(got) != len(msgs) {
					t.Fatalf("rsyslog got %d messages tagged %s, want %d", len(got), tag, len(msgs))
				}
				host := hostname
				if f.name == "" {
					host = ""
				}
				for i, m := range msgs {
					rec := got[i]
					if l := line(f.name, rec); l != m.line {
						t.Errorf("msg %q, want %q", l, m.line)
					}
					if rec.Severity != m.severity || rec.Facility != "daemon" {
						t.Errorf("%s.%s, want daemon.%s", rec.Facility, rec.Severity, m.severity)
					}
					if rec.Input != tr.input {
						t.Errorf("came through %s, want %s", rec.Input, tr.input)
					}
					if strings.HasPrefix(f.name, "rfc5424") && (rec.AppName != tag || rec.MsgID != tag) {
						t.Errorf("APP-NAME %q MSGID %q, want the tag %q in both", rec.AppName, rec.MsgID, tag)
					}
					if f.name != "" && rec.Hostname != hostname {
						t.Errorf("hostname %q, want %q", rec.Hostname, hostname)
					}
					re := strings.NewReplacer("PRI", m.pri, "TAG", tag, "PID", `\d+`, "HOST", regexp.QuoteMeta(host),
						"MSG", regexp.QuoteMeta(m.line)).Replace(f.raw)
					raw := strings.TrimRight(rec.Raw, "\n")
					if tr.name == "unixgram" {
						// imuxsock keeps the message, less nothing.
						raw = strings.TrimSpace(raw)
					}
					if !regexp.MustCompile(re).MatchString(raw) {
						t.Errorf("raw message\n  %q\ndoes not match\n  %s", raw, re)
					}
				}
			})
		}
	}
}

func TestRsyslogTagAndFacility(t *testing.T) {
	r := startRsyslog(t)
	tests := []struct {
		name     string
		opts     map[string]string
		program  string // rsyslog's programname; "" = the tag
		tag      string // expected %syslogtag% prefix
		facility string
	}{
		{"default tag is the short id", nil, "", "ID[", "daemon"},
		{"name and image", map[string]string{"tag": "{{.ImageName}}/{{.Name}}/{{.ID}}"}, "busybox", "busybox/NAME/ID[", "daemon"},
		{"full id", map[string]string{"tag": "{{.FullID}}"}, "FULLID", "FULLID[", "daemon"},
		{"daemon name", map[string]string{"tag": "{{.DaemonName}}-{{.Name}}"}, "skiff-NAME", "skiff-NAME[", "daemon"},
		{"literal", map[string]string{"tag": "web"}, "web", "web[", "daemon"},
		{"facility by name", map[string]string{"syslog-facility": "local3"}, "", "ID[", "local3"},
		{"facility by number", map[string]string{"syslog-facility": "20"}, "", "ID[", "local4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := logstest.NewInfo(t)
			info.ContainerName = "/tagtest"
			for k, v := range tt.opts {
				info.Config[k] = v
			}
			info.Config["syslog-address"] = "tcp://" + r.tcp
			d, err := syslog.New(info)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Log(&logdriver.Message{Line: []byte("tagged"), Source: "stdout"}); err != nil {
				t.Fatal(err)
			}
			d.Close()
			fill := strings.NewReplacer("FULLID", info.ContainerID, "ID", info.ID(), "NAME", "tagtest")
			program := fill.Replace(tt.program)
			if program == "" {
				program = info.ID()
			}
			got := r.messages(t, program, 1)
			if len(got) != 1 {
				t.Fatalf("rsyslog got %d messages from program %q", len(got), program)
			}
			if want := fill.Replace(tt.tag); !strings.HasPrefix(got[0].Tag, want) {
				t.Errorf("syslogtag %q, want %q…", got[0].Tag, want)
			}
			if got[0].Facility != tt.facility {
				t.Errorf("facility %q, want %q", got[0].Facility, tt.facility)
			}
		})
	}
}

// TestConformance runs the drivers' shared suite against rsyslog.
func TestConformance(t *testing.T) {
	r := startRsyslog(t)
	for _, tc := range []struct{ name, address, format string }{
		{"tcp", "tcp://" + r.tcp, ""},
		{"udp rfc5424", "udp://" + r.udp, "rfc5424"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logstest.Run(t, logstest.Harness{
				Start: func(_ *testing.T, info logdriver.Info) (logdriver.Driver, error) {
					info.Config["syslog-address"] = tc.address
					info.Config["syslog-format"] = tc.format
					return syslog.New(info)
				},
				Received: func(t *testing.T, info logdriver.Info, want int) []logstest.Received {
					var out []logstest.Received
					for _, rec := range r.messages(t, info.ID(), want) {
						source := "stdout"
						if rec.Severity == "err" {
							source = "stderr"
						}
						out = append(out, logstest.Received{Source: source, Line: line(tc.format, rec)})
					}
					return out
				},
				DropsEmpty: true,
				NoPartial:  true,
				Lossy:      strings.HasPrefix(tc.address, "udp://"),
			})
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	info := logstest.NewInfo(t)
	info.Config["syslog-address"] = "tcp://" + addr
	if _, err := syslog.New(info); err == nil || err.Error() != "dial tcp "+addr+": connect: connection refused" {
		t.Errorf("New with nothing listening = %v", err)
	}
	info.Config["syslog-address"] = "unixgram:///nonexistent/log.sock"
	if _, err := syslog.New(info); err == nil || err.Error() != "stat /nonexistent/log.sock: no such file or directory" {
		t.Errorf("New with a missing socket = %v", err)
	}
}
