// Package events is the engine's event bus: what happens to containers,
// images, networks and volumes, in Docker's message shape, fanned out to
// subscribers and kept in a bounded journal on disk, so that `events
// --since` reaches back across an engine restart.
package events

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/skiff-dev/skiff/opts"
)

// Message is one event.
type Message = events.Message

// subscriberBuffer is how many events a subscriber may lag behind before
// it misses some (as Docker's event queue).
const subscriberBuffer = 1024

// Bus publishes events and keeps the last Keep of them, in memory and in
// its journal file.
type Bus struct {
	path string
	keep int

	mu      sync.Mutex
	recent  []Message // oldest first, at most keep
	journal *os.File
	lines   int // in the journal
	subs    map[chan Message]struct{}
}

// Open opens the bus whose journal is path (made if absent), keeping the
// last keep events.
func Open(path string, keep int) (*Bus, error) {
	if keep <= 0 {
		keep = 1000
	}
	b := &Bus{path: path, keep: keep, subs: map[chan Message]struct{}{}}
	if err := b.load(); err != nil {
		return nil, err
	}
	if err := b.rewrite(); err != nil {
		return nil, err
	}
	return b, nil
}

// load reads the journal's events; a line that does not parse (a write
// cut short by a crash) is skipped.
func (b *Bus) load() error {
	f, err := os.Open(b.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m Message
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			b.recent = append(b.recent, m)
		}
	}
	if len(b.recent) > b.keep {
		b.recent = b.recent[len(b.recent)-b.keep:]
	}
	return sc.Err()
}

// rewrite replaces the journal with the kept events and opens it for
// appending.
func (b *Bus) rewrite() error {
	if err := os.MkdirAll(filepath.Dir(b.path), 0o700); err != nil {
		return err
	}
	tmp := b.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, m := range b.recent {
		if err := enc.Encode(m); err != nil {
			return errors.Join(err, f.Close())
		}
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp, b.path); err != nil {
		return err
	}
	if b.journal != nil {
		if err := b.journal.Close(); err != nil {
			return err
		}
	}
	if b.journal, err = os.OpenFile(b.path, os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return err
	}
	b.lines = len(b.recent)
	return nil
}

// Publish records m (stamping its time if it has none) and sends it to
// the subscribers; one that lags too far behind misses it. A journal
// that cannot be written is reported; the event still goes out.
func (b *Bus) Publish(m Message) error {
	if m.TimeNano == 0 {
		now := time.Now()
		m.Time, m.TimeNano = now.Unix(), now.UnixNano()
	}
	if m.Scope == "" {
		m.Scope = "local"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recent = append(b.recent, m)
	if len(b.recent) > b.keep {
		b.recent = b.recent[len(b.recent)-b.keep:]
	}
	for ch := range b.subs {
		select {
		case ch <- m:
		default:
		}
	}
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := b.journal.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing the event journal: %w", err)
	}
	if b.lines++; b.lines > 2*b.keep {
		return b.rewrite()
	}
	return nil
}

// Subscribe returns the kept events and a channel of the events from
// now on, in order, without a gap or a repeat between the two; cancel
// ends the subscription.
func (b *Bus) Subscribe() (history []Message, live <-chan Message, cancel func()) {
	ch := make(chan Message, subscriberBuffer)
	b.mu.Lock()
	history = append([]Message(nil), b.recent...)
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return history, ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, ch)
			b.mu.Unlock()
		})
	}
}

// Close closes the journal.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.journal.Close()
}

// Match reports whether m passes Docker's event filters: every key must
// match, any of its values. type, event and scope are exact (an event
// filter "health_status" takes every health status); container,
// image, network and volume take an event of that kind by ID (or a
// prefix of it) or name, and image also a container event of that
// image; label takes "k" or "k=v" of the actor's attributes.
func Match(f opts.Filters, m Message) bool {
	anyOf := func(key string, ok func(string) bool) bool {
		vals, set := f[key]
		if !set {
			return true
		}
		for _, v := range vals {
			if ok(v) {
				return true
			}
		}
		return false
	}
	attrs := m.Actor.Attributes
	named := func(t events.Type) func(string) bool {
		return func(v string) bool {
			return m.Type == t && v != "" && (strings.HasPrefix(m.Actor.ID, v) || attrs["name"] == v)
		}
	}
	return anyOf("type", func(v string) bool { return string(m.Type) == v }) &&
		anyOf("event", func(v string) bool {
			a := string(m.Action)
			return a == v || strings.HasPrefix(a, v+":")
		}) &&
		anyOf("scope", func(v string) bool { return v == "local" }) &&
		anyOf("container", named(events.ContainerEventType)) &&
		anyOf("network", named(events.NetworkEventType)) &&
		anyOf("volume", named(events.VolumeEventType)) &&
		anyOf("daemon", named(events.DaemonEventType)) &&
		anyOf("image", func(v string) bool {
			return named(events.ImageEventType)(v) ||
				m.Type == events.ContainerEventType && (attrs["image"] == v || strings.TrimSuffix(attrs["image"], ":latest") == v)
		}) &&
		opts.MatchLabels(attrs, f["label"])
}
