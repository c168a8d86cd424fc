package opts

import (
	"bytes"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	if k, err := ParseDetachKeys(""); err != nil || !bytes.Equal(k, []byte{16, 17}) {
		t.Errorf("default: %v %v", k, err)
	}
	if k, err := ParseDetachKeys("ctrl-x,x"); err != nil || !bytes.Equal(k, []byte{24, 'x'}) {
		t.Errorf("ctrl-x,x: %v %v", k, err)
	}
	if _, err := ParseDetachKeys("ctrl-"); err == nil || err.Error() != "Invalid detach keys (ctrl-) provided" {
		t.Errorf("ctrl-: %v", err)
	}
}
