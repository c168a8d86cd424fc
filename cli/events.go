package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// EventsOptions are `skiff events`.
type EventsOptions struct {
	Filters      []string
	Format       string
	Since, Until string
}

// Events prints the engine's events, as `docker events`: the kept ones
// from --since, then the new ones until --until (or until interrupted).
func (c *CLI) Events(ctx context.Context, opt EventsOptions) error {
	filters, err := parseFilterFlags(opt.Filters)
	if err != nil {
		return err
	}
	since, until, err := timeRange(opt.Since, opt.Until)
	if err != nil {
		return err
	}
	var show func(events.Message) error
	switch opt.Format {
	case "":
		show = func(m events.Message) error {
			_, err := fmt.Fprintln(c.Out, eventLine(m))
			return err
		}
	default:
		if opt.Format == "json" {
			opt.Format = "{{json .}}"
		}
		t, err := parseTemplate(opt.Format)
		if err != nil {
			return err
		}
		show = func(m events.Message) error {
			if err := t.Execute(c.Out, m); err != nil {
				return &StatusError{Code: 1, Msg: "template: " + err.Error()}
			}
			_, err := fmt.Fprintln(c.Out)
			return err
		}
	}
	res := c.API.Events(ctx, client.EventsListOptions{Since: since, Until: until, Filters: filters})
	for {
		select {
		case m := <-res.Messages:
			if err := show(m); err != nil {
				return err
			}
		case err := <-res.Err:
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
	}
}

// eventLine is docker events' line: the time, type, action, actor and
// its attributes sorted by name.
func eventLine(m events.Message) string {
	t := time.Unix(0, m.TimeNano)
	if m.TimeNano == 0 {
		t = time.Unix(m.Time, 0)
	}
	var b strings.Builder
	b.WriteString(t.Format("2006-01-02T15:04:05.000000000Z07:00"))
	fmt.Fprintf(&b, " %s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := make([]string, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, k+"="+m.Actor.Attributes[k])
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(attrs, ", "))
	}
	return b.String()
}
