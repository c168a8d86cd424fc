package api

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/moby/moby/api/types/jsonstream"
)

// streamMessage is a jsonstream.Message with the legacy "error" field the
// Docker CLI still reads.
type streamMessage struct {
	jsonstream.Message
	ErrorText string `json:"error,omitempty"`
}

// jsonStream writes newline-delimited progress messages, flushing each.
// Its header goes with the first message, so an error before any is
// answered with its status, as Docker's router does.
type jsonStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
}

func newJSONStream(w http.ResponseWriter) *jsonStream {
	return &jsonStream{w: w, enc: json.NewEncoder(w)}
}

// Send writes one message.
func (s *jsonStream) Send(m jsonstream.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start()
	// A client that went away misses the progress; the work goes on.
	_ = s.enc.Encode(streamMessage{Message: m})
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *jsonStream) start() {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
	}
}

// finish answers err: in the stream once it has started, as an error
// response before.
func (s *jsonStream) finish(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.start()
		return nil
	}
	if !s.started {
		return err
	}
	_ = s.enc.Encode(streamMessage{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, ErrorText: err.Error()})
	return nil
}

// sendValue writes one JSON value of a stream (stats) and flushes it.
func (s *jsonStream) sendValue(v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start()
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// open sends the header now, before any message.
func (s *jsonStream) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start()
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}
