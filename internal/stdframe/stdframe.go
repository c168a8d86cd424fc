// Package stdframe writes Docker's multiplexed-stream framing (what
// moby's stdcopy reads): each piece of output after an 8-byte header,
// the stream id, three zero bytes and the big-endian length.
package stdframe

import (
	"encoding/binary"
	"io"
)

// The stream ids.
const (
	Stdout byte = 1
	Stderr byte = 2
)

// Frame is p in the framing, on stream id.
func Frame(id byte, p []byte) []byte {
	f := make([]byte, 8+len(p))
	f[0] = id
	binary.BigEndian.PutUint32(f[4:], uint32(len(p)))
	copy(f[8:], p)
	return f
}

// Write writes one piece of output of stream ("stdout" or "stderr"):
// raw for a container with a terminal, framed otherwise.
func Write(w io.Writer, stream string, p []byte, tty bool) error {
	if !tty {
		id := Stdout
		if stream == "stderr" {
			id = Stderr
		}
		p = Frame(id, p)
	}
	_, err := w.Write(p)
	return err
}
