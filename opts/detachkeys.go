package opts

import (
	"fmt"

	"github.com/moby/term"
)

// ParseDetachKeys reads a detach sequence ("ctrl-p,ctrl-q" when empty),
// with Docker's message for one that does not parse.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return []byte{16, 17}, nil
	}
	k, err := term.ToBytes(s)
	if err != nil {
		return nil, fmt.Errorf("Invalid detach keys (%s) provided", s)
	}
	return k, nil
}
