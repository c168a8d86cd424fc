package awslogs

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// start runs the collector. It first creates the stream and reports how
// that went on the returned channel; in non-blocking mode it retries (1 s,
// doubling to 32 s) until it works or the driver is closed, as Docker's.
func (d *Driver) start(nonBlocking bool) <-chan error {
	created := make(chan error, 1)
	go func() {
		defer close(d.done)
		if !nonBlocking {
			err := d.create(d.ctx)
			created <- err
			if err != nil {
				return
			}
		} else {
			created <- nil
			for backoff := time.Second; ; {
				err := d.create(d.ctx)
				if err == nil {
					break
				}
				ErrorLog.Printf("error while trying to initialize awslogs, retrying in %s: %v", backoff, err)
				select {
				case <-time.After(backoff):
				case <-d.closing:
					return
				}
				if backoff < 32*time.Second {
					backoff *= 2
				}
			}
		}
		d.collect()
	}()
	return created
}

// collect batches messages until the queue is closed, as Docker's
// collectBatch: each line is an event, or, with a multiline pattern, lines
// are joined until the next line that matches it (or the event would be
// too long, or it waited two flush intervals).
func (d *Driver) collect() {
	ticker := time.NewTicker(d.flushInterval)
	defer ticker.Stop()
	var buf []byte
	var bufTS int64
	b := &batch{}
	for {
		select {
		case t := <-ticker.C:
			if bufTS > 0 && len(buf) > 0 {
				age := t.UnixMilli() - bufTS
				if age >= d.flushInterval.Milliseconds() || age < 0 {
					d.processEvent(b, buf, bufTS)
					buf = buf[:0]
				}
			}
			d.publish(b)
			b.reset()
		case m, ok := <-d.messages:
			if !ok {
				d.processEvent(b, buf, bufTS)
				d.publish(b)
				return
			}
			if bufTS == 0 {
				bufTS = m.Timestamp.UnixMilli()
			}
			line := m.Line
			if d.multiline == nil {
				d.processEvent(b, line, m.Timestamp.UnixMilli())
				continue
			}
			n := effectiveLen(string(line))
			if d.multiline.Match(line) || effectiveLen(string(buf))+n > maximumBytesPerEvent {
				d.processEvent(b, buf, bufTS)
				bufTS = m.Timestamp.UnixMilli()
				buf = buf[:0]
			}
			if n < maximumBytesPerEvent {
				line = append(line, '\n')
			}
			buf = append(buf, line...)
		}
	}
}

// processEvent adds p as events of at most maximumBytesPerEvent, sending
// the batch whenever it is full.
func (d *Driver) processEvent(b *batch, p []byte, ts int64) {
	for len(p) > 0 {
		off, n := findValidSplit(string(p), maximumBytesPerEvent)
		e := event{in: types.InputLogEvent{Message: aws.String(string(p[:off])), Timestamp: aws.Int64(ts)}, order: len(b.events)}
		if b.add(e, n) {
			p = p[off:]
		} else {
			d.publish(b)
			b.reset()
		}
	}
}

// publish sends a batch, with the sequence token the service expects.
func (d *Driver) publish(b *batch) {
	if len(b.events) == 0 {
		return
	}
	events := sortEvents(b.events)
	next, err := d.putLogEvents(events, d.sequenceToken)
	if err != nil {
		var accepted *types.DataAlreadyAcceptedException
		var invalid *types.InvalidSequenceTokenException
		switch {
		case errors.As(err, &accepted):
			next, err = accepted.ExpectedSequenceToken, nil
		case errors.As(err, &invalid):
			next, err = d.putLogEvents(events, invalid.ExpectedSequenceToken)
		}
	}
	if err != nil {
		ErrorLog.Printf("failed to put log events to %s/%s: %v", d.group, d.stream, err)
		return
	}
	d.sequenceToken = next
}

func (d *Driver) putLogEvents(events []types.InputLogEvent, token *string) (*string, error) {
	out, err := d.client.PutLogEvents(d.ctx, &cloudwatchlogs.PutLogEventsInput{
		LogEvents:     events,
		SequenceToken: token,
		LogGroupName:  aws.String(d.group),
		LogStreamName: aws.String(d.stream),
	})
	if err != nil {
		return nil, err
	}
	return out.NextSequenceToken, nil
}

// withHeader adds a header to every request (awslogs-format=json/emf).
func withHeader(key, value string) func(*cloudwatchlogs.Options) {
	return cloudwatchlogs.WithAPIOptions(func(stack *middleware.Stack) error {
		return stack.Build.Add(middleware.BuildMiddlewareFunc("logFormat", func(
			ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler,
		) (middleware.BuildOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				req.Header.Add(key, value)
			}
			return next.HandleBuild(ctx, in)
		}), middleware.Before)
	})
}
