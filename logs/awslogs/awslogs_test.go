package awslogs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// fakeAPI records PutLogEvents calls (the end-to-end tests, against a
// CloudWatch Logs emulator, are in logs/awslogstest).
type fakeAPI struct {
	mu    sync.Mutex
	calls [][]string
}

func (f *fakeAPI) CreateLogGroup(context.Context, *cloudwatchlogs.CreateLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error) {
	return &cloudwatchlogs.CreateLogGroupOutput{}, nil
}

func (f *fakeAPI) CreateLogStream(context.Context, *cloudwatchlogs.CreateLogStreamInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error) {
	return &cloudwatchlogs.CreateLogStreamOutput{}, nil
}

func (f *fakeAPI) PutLogEvents(_ context.Context, in *cloudwatchlogs.PutLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	var msgs []string
	for _, e := range in.LogEvents {
		msgs = append(msgs, aws.ToString(e.Message))
	}
	f.mu.Lock()
	f.calls = append(f.calls, msgs)
	f.mu.Unlock()
	return &cloudwatchlogs.PutLogEventsOutput{}, nil
}

func newFake(t *testing.T) (*Driver, *fakeAPI) {
	d, err := newDriver(logdriver.Info{Config: map[string]string{"awslogs-group": "g"}, ContainerID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	api := &fakeAPI{}
	d.client = api
	if err := <-d.start(false); err != nil {
		t.Fatal(err)
	}
	return d, api
}

func TestBatchLimits(t *testing.T) {
	d, api := newFake(t)
	const n = 12000
	now := time.Now()
	for i := 0; i < n; i++ {
		if err := d.Log(&logdriver.Message{Line: []byte("x"), Timestamp: now}); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("é", maximumBytesPerEvent) // 2 bytes each
	if err := d.Log(&logdriver.Message{Line: []byte(long), Timestamp: now}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	total, events := 0, []string{}
	for _, c := range api.calls {
		if len(c) > maximumLogEventsPerPut {
			t.Errorf("a PutLogEvents call with %d events", len(c))
		}
		size := 0
		for _, m := range c {
			size += len(m) + perEventBytes
		}
		if size > maximumBytesPerPut {
			t.Errorf("a PutLogEvents call of %d bytes", size)
		}
		total += len(c)
		events = append(events, c...)
	}
	// The long line is cut into events that fit, between characters.
	if total != n+2 {
		t.Fatalf("%d events, want %d", total, n+2)
	}
	tail := events[n] + events[n+1]
	if tail != long || len(events[n]) > maximumBytesPerEvent {
		t.Errorf("long line split into %d + %d bytes", len(events[n]), len(events[n+1]))
	}
}

func TestLogAfterClose(t *testing.T) {
	d, _ := newFake(t)
	d.Close()
	if err := d.Log(&logdriver.Message{Line: []byte("late")}); !errors.Is(err, errClosed) {
		t.Fatalf("Log after Close = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}
