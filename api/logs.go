package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/skiff-dev/skiff/internal/stdframe"
	"github.com/skiff-dev/skiff/opts"
)

// LogsOptions are a logs request's parameters.
type LogsOptions struct {
	Stdout, Stderr, Follow, Timestamps, Details bool
	// Since and Until bound the lines' times; zero is no bound.
	Since, Until time.Time
	// Tail is how many of the last lines to give; -1 is all.
	Tail int
}

// Logs is a container's log, ready to read.
type Logs struct {
	// TTY: the container has a terminal, its output one raw stream.
	TTY bool
	// Read sends the lines (with their stream, "stdout" or "stderr")
	// until the log ends (or, following, the container stops and its
	// log is read), ctx ends or send fails.
	Read func(ctx context.Context, send func(stream string, line []byte) error) error
}

func (s *server) logRoutes() {
	s.handle("GET /containers/{id}/logs", func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		o := LogsOptions{
			Stdout: boolParam(r, "stdout"), Stderr: boolParam(r, "stderr"), Follow: boolParam(r, "follow"),
			Timestamps: boolParam(r, "timestamps"), Details: boolParam(r, "details"), Tail: -1,
		}
		if v := q.Get("tail"); v != "" && v != "all" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return Invalid(fmt.Errorf("invalid tail %q", v))
			}
			o.Tail = n
		}
		var err error
		if o.Since, err = opts.ParseUnixTime(q.Get("since")); err != nil {
			return Invalid(err)
		}
		if o.Until, err = opts.ParseUnixTime(q.Get("until")); err != nil {
			return Invalid(err)
		}
		lg, err := s.b.ContainerLogs(r.Context(), r.PathValue("id"), o)
		if err != nil {
			return err
		}
		ctype := "application/vnd.docker.raw-stream"
		if !lg.TTY {
			ctype = "application/vnd.docker.multiplexed-stream"
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(http.StatusOK)
		var clientGone error
		err = lg.Read(r.Context(), func(stream string, line []byte) error {
			if err := stdframe.Write(w, stream, line, lg.TTY); err != nil {
				clientGone = err
				return err
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			return nil
		})
		if err != nil && clientGone == nil && !errors.Is(err, context.Canceled) && r.Context().Err() == nil {
			// The status went out with the first line: as Docker, the
			// error ends the stream, on stderr.
			_ = stdframe.Write(w, "stderr", []byte("Error grabbing logs: "+err.Error()+"\n"), lg.TTY)
		}
		return nil
	})
}
