package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestReplyRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		errno syscall.Errno
	}{
		{"ok", nil, 0},
		{"errno", syscall.EPERM, syscall.EPERM},
		{"wrapped errno", fmt.Errorf("kill: %w", syscall.ESRCH), syscall.ESRCH},
		{"plain", errors.New("unknown operation"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			go writeReply(a, tt.err)
			line, err := bufio.NewReader(b).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			got := parseReply(opSignal, line)
			if (got == nil) != (tt.err == nil) {
				t.Fatalf("parseReply = %v, want error %v", got, tt.err)
			}
			if tt.errno != 0 && !errors.Is(got, tt.errno) {
				t.Errorf("parseReply = %v, does not unwrap to %v", got, tt.errno)
			}
			var me *MonitorError
			if tt.err != nil && (!errors.As(got, &me) || me.Op != "signal") {
				t.Errorf("parseReply = %#v, want a MonitorError for op signal", got)
			}
			if tt.errno == 0 && errors.Is(got, syscall.EPERM) {
				t.Errorf("parseReply = %v unwraps to an errno it was not given", got)
			}
		})
	}
	if err := parseReply(opStart, "ok\n"); err != nil {
		t.Errorf("an earlier monitor's plain ok: %v", err)
	}
	if err := parseReply(opStart, "err nope\n"); err == nil {
		t.Error("garbage accepted as a reply")
	}
}
