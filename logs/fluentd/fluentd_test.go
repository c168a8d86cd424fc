package fluentd

import (
	"fmt"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"", "tcp 127.0.0.1 24224 "},
		{"fluent.lan", "tcp fluent.lan 24224 "},
		{"fluent.lan:5000", "tcp fluent.lan 5000 "},
		{"tcp://10.0.0.1:5000", "tcp 10.0.0.1 5000 "},
		{"tls://fluent.lan:5000", "tls fluent.lan 5000 "},
		{"tcp://[::1]:5000", "tcp ::1 5000 "},
		{"unix:///run/fluent.sock", "unix  0 /run/fluent.sock"},
		{"unix://", ""},
		{"udp://x:1", ""},
		{"tcp://x:1/path", ""},
		{"tcp://x:99999", ""},
	}
	for _, tt := range tests {
		loc, err := parseAddress(tt.in)
		got := ""
		if err == nil {
			got = fmt.Sprintf("%s %s %d %s", loc.protocol, loc.host, loc.port, loc.path)
		}
		if got != tt.want {
			t.Errorf("parseAddress(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := parseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BufferLimit != 1024*1024 || cfg.RetryWait != 1000 || cfg.MaxRetry != defaultMaxRetries || cfg.Async || cfg.SubSecondPrecision {
		t.Errorf("defaults %+v", cfg)
	}
	cfg, err = parseConfig(map[string]string{"fluentd-async": "true", "fluentd-retry-wait": "2s", "fluentd-buffer-limit": "2k"})
	if err != nil || !cfg.Async || !cfg.ForceStopAsyncSend || cfg.RetryWait != 2000 || cfg.BufferLimit != 2048 {
		t.Errorf("options %+v, %v", cfg, err)
	}
}
