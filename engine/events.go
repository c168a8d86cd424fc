package engine

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"

	skevents "github.com/skiff-dev/skiff/events"
	"github.com/skiff-dev/skiff/opts"
)

// emit publishes one event; a journal that cannot be written is logged.
func (e *Engine) emit(t events.Type, action events.Action, id string, attrs map[string]string) {
	if e.events == nil {
		return
	}
	if attrs == nil {
		attrs = map[string]string{}
	}
	if err := e.events.Publish(skevents.Message{Type: t, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}}); err != nil {
		e.log.Printf("events: %v", err)
	}
}

// emitContainer publishes a container event with Docker's attributes:
// the container's labels, its name and image, and extra. The caller
// holds c.mu.
func (e *Engine) emitContainer(c *ctr, action events.Action, extra map[string]string) {
	attrs := map[string]string{}
	if c.rec.Config != nil {
		for k, v := range c.rec.Config.Labels {
			attrs[k] = v
		}
	}
	attrs["name"] = strings.TrimPrefix(c.rec.Name, "/")
	attrs["image"] = c.rec.ImageName
	for k, v := range extra {
		attrs[k] = v
	}
	e.emit(events.ContainerEventType, action, c.rec.ID, attrs)
}

// exitAttrs are a die event's extra attributes.
func exitAttrs(code int) map[string]string {
	return map[string]string{"exitCode": strconv.Itoa(code)}
}

// Events implements api.EventService: the kept events from since to
// until, then (while until is not past) the new ones as they come,
// those that pass the filters. It ends when ctx does, at until, or when
// send fails.
func (e *Engine) Events(ctx context.Context, since, until time.Time, f opts.Filters, send func(skevents.Message) error) {
	history, live, cancel := e.events.Subscribe()
	defer cancel()
	in := func(m skevents.Message) bool {
		t := time.Unix(0, m.TimeNano)
		return (since.IsZero() || !t.Before(since)) && (until.IsZero() || !t.After(until)) && skevents.Match(f, m)
	}
	if !since.IsZero() {
		for _, m := range history {
			if in(m) {
				if err := send(m); err != nil {
					return // the client went away
				}
			}
		}
	}
	var deadline <-chan time.Time
	if !until.IsZero() {
		d := time.Until(until)
		if d <= 0 {
			return
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		deadline = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case m := <-live:
			if in(m) {
				if err := send(m); err != nil {
					return
				}
			}
		}
	}
}
