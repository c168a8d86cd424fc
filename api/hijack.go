package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/moby/moby/api/types/container"
)

// Upgrade takes over a request's connection for a raw stream, answering
// as Docker does: 101 UPGRADED when the client asked to upgrade, with the
// raw stream for a tty and the multiplexed one without. It returns the
// connection (the client's output and its close) and the client's input
// (what it sent after the request, buffered).
type Upgrade func(tty bool) (conn net.Conn, in io.Reader, err error)

// AttachOptions are an attach request's parameters.
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
	// DetachKeys end the client's stream, leaving the container running
	// ("" is ctrl-p,ctrl-q).
	DetachKeys string
}

func (s *server) streamRoutes() {
	s.handle("POST /containers/{id}/attach", func(w http.ResponseWriter, r *http.Request) error {
		o := AttachOptions{
			Stdin: boolParam(r, "stdin"), Stdout: boolParam(r, "stdout"), Stderr: boolParam(r, "stderr"),
			DetachKeys: r.URL.Query().Get("detachKeys"),
		}
		return s.upgraded(s.b.ContainerAttach(r.Context(), r.PathValue("id"), o, upgrader(w, r)))
	})
	s.handle("POST /exec/{id}/start", func(w http.ResponseWriter, r *http.Request) error {
		var req container.ExecStartRequest
		if r.ContentLength != 0 {
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
				return DecodeError(err)
			}
		}
		if req.Detach {
			if err := s.b.ExecStart(r.Context(), r.PathValue("id"), nil); err != nil {
				return err
			}
			w.WriteHeader(http.StatusOK)
			return nil
		}
		return s.upgraded(s.b.ExecStart(r.Context(), r.PathValue("id"), upgrader(w, r)))
	})
}

// errUpgraded is a backend's error after it took the connection: the
// client has seen the stream end, and there is no HTTP answer left.
type errUpgraded struct{ error }

func (e errUpgraded) Unwrap() error { return e.error }

// upgraded is the answer to a streaming call: its error when it failed
// before it took the connection, nothing after.
func (s *server) upgraded(err error) error {
	var up errUpgraded
	if errors.As(err, &up) {
		return nil
	}
	return err
}

// Upgraded marks an error that happened after the backend took the
// connection (see Upgrade): there is no HTTP answer left to give.
func Upgraded(err error) error {
	if err == nil {
		return nil
	}
	return errUpgraded{err}
}

func upgrader(w http.ResponseWriter, r *http.Request) Upgrade {
	return func(tty bool) (net.Conn, io.Reader, error) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			return nil, nil, errors.New("connection cannot be hijacked")
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return nil, nil, err
		}
		ctype := "application/vnd.docker.raw-stream"
		if !tty {
			ctype = "application/vnd.docker.multiplexed-stream"
		}
		if r.Header.Get("Upgrade") != "" {
			_, err = fmt.Fprintf(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", ctype)
		} else {
			_, err = fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n", ctype)
		}
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		return conn, buf.Reader, nil
	}
}
