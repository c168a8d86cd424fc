package cli

import "testing"

func TestKeyWatcher(t *testing.T) {
	for _, tt := range []struct {
		keys, in string
		want     bool
	}{
		{"", "ls\n\x10\x11", true},
		{"", "\x10x\x11", false},
		{"", "\x10\x10\x11", true},
		{"ctrl-x,x", "echo\n\x18x", true},
		{"ctrl-x,x", "\x18y", false},
		{"bogus-key", "\x10\x11", false},
	} {
		w := detachSequence(tt.keys)
		for i := range len(tt.in) { // one byte at a time, as a terminal sends them
			if _, err := w.Write([]byte{tt.in[i]}); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.seen.Load(); got != tt.want {
			t.Errorf("keys %q, input %q: seen %v, want %v", tt.keys, tt.in, got, tt.want)
		}
	}
}
