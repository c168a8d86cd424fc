package runtime

import (
	"testing"
)

func TestCompileDefaultSeccompProfile(t *testing.T) {
	caps, err := CapabilitySet(nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := SeccompProfile("", caps, false)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil || len(p.Syscalls) == 0 {
		t.Fatal("no default profile")
	}
	bpf, err := CompileSeccomp(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(bpf) == 0 || len(bpf)%8 != 0 {
		t.Fatalf("BPF program of %d bytes", len(bpf))
	}
	// Privileged and unconfined containers get no filter.
	for _, c := range []struct {
		profile    string
		privileged bool
	}{{"unconfined", false}, {"", true}} {
		if p, err := SeccompProfile(c.profile, caps, c.privileged); err != nil || p != nil {
			t.Errorf("%+v: profile %v, %v", c, p, err)
		}
	}
	if _, err := SeccompProfile("{not json", caps, false); err == nil {
		t.Error("a broken profile was accepted")
	}
	if err := loadSeccomp([]byte{1, 2, 3}); err == nil {
		t.Error("a truncated BPF program was accepted")
	}
}
