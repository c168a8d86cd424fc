package api

import (
	"net/http"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/skiff-dev/skiff/opts"
)

// EventMessage is an event as API 1.41 sends it: Docker's message with
// the legacy status, id and from fields that older clients read.
type EventMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	events.Message
}

func legacyEvent(m events.Message) EventMessage {
	out := EventMessage{Message: m}
	if m.Type == events.ContainerEventType || m.Type == events.ImageEventType {
		out.Status, out.ID = string(m.Action), m.Actor.ID
		if m.Type == events.ContainerEventType {
			out.From = m.Actor.Attributes["image"]
		}
	}
	return out
}

func (s *server) eventRoutes() {
	s.handle("GET /events", func(w http.ResponseWriter, r *http.Request) error {
		since, err := eventTime(r.URL.Query().Get("since"))
		if err != nil {
			return err
		}
		until, err := eventTime(r.URL.Query().Get("until"))
		if err != nil {
			return err
		}
		f, err := filtersParam(r)
		if err != nil {
			return err
		}
		stream := newJSONStream(w)
		// The header goes at once: a client waits for it before it does
		// what it wants to see the events of.
		stream.open()
		s.b.Events(r.Context(), since, until, f, func(m events.Message) error {
			return stream.sendValue(legacyEvent(m))
		})
		return nil
	})
}

// eventTime reads since and until: Unix seconds with an optional
// fraction, as the CLIs send them (they turn durations and dates into
// that).
func eventTime(v string) (time.Time, error) {
	t, err := opts.ParseUnixTime(v)
	if err != nil {
		return time.Time{}, Invalid(err)
	}
	return t, nil
}
