package stdframe

import (
	"bytes"
	"testing"

	"github.com/moby/moby/api/pkg/stdcopy"
)

// TestRoundTrip: what Write frames, moby's stdcopy reads back.
func TestRoundTrip(t *testing.T) {
	var mux bytes.Buffer
	for _, p := range []struct{ stream, s string }{{"stdout", "out1\n"}, {"stderr", "err\n"}, {"stdout", ""}, {"stdout", "out2"}} {
		if err := Write(&mux, p.stream, []byte(p.s), false); err != nil {
			t.Fatal(err)
		}
	}
	var out, errs bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errs, &mux); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out1\nout2" || errs.String() != "err\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errs.String())
	}
	var raw bytes.Buffer
	if err := Write(&raw, "stderr", []byte("x"), true); err != nil || raw.String() != "x" {
		t.Errorf("a tty's output is framed: %q", raw.String())
	}
}
