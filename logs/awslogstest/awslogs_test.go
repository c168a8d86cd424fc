package awslogstest_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/sivchari/kumo"

	"github.com/skiff-dev/skiff/logs"
	"github.com/skiff-dev/skiff/logs/awslogs"
	"github.com/skiff-dev/skiff/logs/logdriver"
	"github.com/skiff-dev/skiff/logs/logstest"
)

const region = "us-east-1"

// endpoint starts kumo on 127.0.0.1 and points the SDK's default
// credential chain at fake keys (and away from any file or instance
// metadata on the host).
func endpoint(t *testing.T) (string, *cloudwatchlogs.Client) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSKIFFTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "skiff-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("kumo listens on %s, not 127.0.0.1", srv.URL)
	}
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSKIFFTEST", "skiff-test-secret", ""),
	})
	return srv.URL, client
}

func options(url, group string, more ...string) map[string]string {
	opts := map[string]string{"awslogs-endpoint": url, "awslogs-region": region, "awslogs-group": group}
	for i := 0; i+1 < len(more); i += 2 {
		opts[more[i]] = more[i+1]
	}
	return opts
}

type event struct {
	msg string
	ts  int64
}

// events returns the events of a stream in the order they were put: kumo
// numbers them in its event ids (GetLogEvents sorts by time only).
func events(t *testing.T, c *cloudwatchlogs.Client, group, stream string) []event {
	t.Helper()
	out, err := c.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(group), LogStreamNames: []string{stream}, Limit: aws.Int32(10000)})
	if err != nil {
		t.Fatalf("FilterLogEvents: %v", err)
	}
	evs := out.Events
	seq := func(e types.FilteredLogEvent) int {
		_, n, _ := strings.Cut(aws.ToString(e.EventId), "-")
		i, _ := strconv.Atoi(n)
		return i
	}
	sort.SliceStable(evs, func(i, j int) bool { return seq(evs[i]) < seq(evs[j]) })
	var res []event
	for _, e := range evs {
		res = append(res, event{aws.ToString(e.Message), aws.ToInt64(e.Timestamp)})
	}
	return res
}

func TestEvents(t *testing.T) {
	url, c := endpoint(t)
	info := logstest.NewInfo(t)
	info.Config = options(url, "skiff-events", "awslogs-create-group", "true")
	d, err := awslogs.New(info)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	lines := []string{"first ☃", "second", "third"}
	for i, l := range lines {
		d.Log(&logdriver.Message{Line: []byte(l), Source: "stdout", Timestamp: at.Add(time.Duration(i) * time.Second)})
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// The default stream is the full container id; read it back with
	// GetLogEvents.
	out, err := c.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String("skiff-events"), LogStreamName: aws.String(info.ContainerID), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetLogEvents: %v", err)
	}
	if len(out.Events) != len(lines) {
		t.Fatalf("%d events, want %d", len(out.Events), len(lines))
	}
	for i, e := range out.Events {
		if aws.ToString(e.Message) != lines[i] {
			t.Errorf("event %d = %q, want %q", i, aws.ToString(e.Message), lines[i])
		}
		if want := at.Add(time.Duration(i) * time.Second).UnixMilli(); aws.ToInt64(e.Timestamp) != want {
			t.Errorf("event %d at %d, want %d", i, aws.ToInt64(e.Timestamp), want)
		}
	}
}

func TestStreamNames(t *testing.T) {
	url, c := endpoint(t)
	tests := []struct {
		name   string
		opts   []string
		stream string // ID and NAME filled in
	}{
		{"default is the full id", nil, "FULLID"},
		{"awslogs-stream", []string{"awslogs-stream", "web-stream"}, "web-stream"},
		{"tag template", []string{"tag", "{{.Name}}/{{.ID}}"}, "NAME/ID"},
		{"awslogs-stream wins over tag", []string{"tag", "x", "awslogs-stream", "y"}, "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := logstest.NewInfo(t)
			info.ContainerName = "/web"
			info.Config = options(url, "skiff-names", append([]string{"awslogs-create-group", "true"}, tt.opts...)...)
			d, err := awslogs.New(info)
			if err != nil {
				t.Fatal(err)
			}
			d.Log(&logdriver.Message{Line: []byte("named"), Source: "stdout", Timestamp: time.Now()})
			d.Close()
			stream := strings.NewReplacer("FULLID", info.ContainerID, "ID", info.ID(), "NAME", "web").Replace(tt.stream)
			if got := events(t, c, "skiff-names", stream); len(got) != 1 || got[0].msg != "named" {
				t.Fatalf("stream %s holds %v", stream, got)
			}
		})
	}
}

func TestCreateGroupAndStream(t *testing.T) {
	url, c := endpoint(t)
	info := logstest.NewInfo(t)
	// Without awslogs-create-group, a missing group fails the start.
	info.Config = options(url, "skiff-missing")
	_, err := awslogs.New(info)
	var notFound *types.ResourceNotFoundException
	if err == nil || !errors.As(err, &notFound) || !strings.HasPrefix(err.Error(), "failed to create Cloudwatch log stream: ") {
		t.Fatalf("New with a missing group = %v", err)
	}
	// An existing group and stream, awslogs-create-stream=false.
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("skiff-existing")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("skiff-existing"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	info.Config = options(url, "skiff-existing", "awslogs-stream", "s", "awslogs-create-stream", "false")
	d, err := awslogs.New(info)
	if err != nil {
		t.Fatal(err)
	}
	d.Log(&logdriver.Message{Line: []byte("into s"), Timestamp: time.Now()})
	d.Close()
	if got := events(t, c, "skiff-existing", "s"); len(got) != 1 {
		t.Fatalf("stream s holds %v", got)
	}
	// A stream that exists already is fine when the driver creates it.
	info.Config = options(url, "skiff-existing", "awslogs-stream", "s")
	d, err = awslogs.New(info)
	if err != nil {
		t.Fatalf("New with an existing stream: %v", err)
	}
	d.Close()
}

func TestMultiline(t *testing.T) {
	url, c := endpoint(t)
	for _, tc := range []struct{ name, key, value string }{
		{"pattern", "awslogs-multiline-pattern", `^INFO`},
		{"datetime", "awslogs-datetime-format", `%Y-%m-%d`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := logstest.NewInfo(t)
			info.Config = options(url, "skiff-multi", "awslogs-create-group", "true", tc.key, tc.value)
			d, err := awslogs.New(info)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			if tc.name == "pattern" {
				lines = []string{"INFO one", "  detail a", "  detail b", "INFO two", "INFO three", "  detail c"}
			} else {
				lines = []string{"2024-05-01 one", "  detail a", "  detail b", "2024-05-02 two", "2024-05-03 three", "  detail c"}
			}
			for _, l := range lines {
				d.Log(&logdriver.Message{Line: []byte(l), Source: "stdout", Timestamp: time.Now()})
			}
			d.Close()
			got := events(t, c, "skiff-multi", info.ContainerID)
			want := []string{
				lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n",
				lines[3] + "\n",
				lines[4] + "\n" + lines[5] + "\n",
			}
			if len(got) != len(want) {
				t.Fatalf("%d events %v, want %q", len(got), got, want)
			}
			for i := range want {
				if got[i].msg != want[i] {
					t.Errorf("event %d = %q, want %q", i, got[i].msg, want[i])
				}
			}
		})
	}
}

// TestConformance runs the drivers' shared suite against kumo.
func TestConformance(t *testing.T) {
	url, c := endpoint(t)
	logstest.Run(t, logstest.Harness{
		Start: func(t *testing.T, info logdriver.Info) (logdriver.Driver, error) {
			for k, v := range options(url, "skiff-conformance", "awslogs-create-group", "true") {
				info.Config[k] = v
			}
			return awslogs.New(info)
		},
		Received: func(t *testing.T, info logdriver.Info, want int) []logstest.Received {
			// Close has sent everything: no wait.
			var out []logstest.Received
			for _, e := range events(t, c, "skiff-conformance", info.ContainerID) {
				out = append(out, logstest.Received{Line: e.msg})
			}
			return out
		},
		NoSource:   true,
		DropsEmpty: true,
		NoPartial:  true,
	})
}

func TestDualLogging(t *testing.T) {
	url, c := endpoint(t)
	info := logstest.NewInfo(t)
	info.Config = options(url, "skiff-dual", "awslogs-create-group", "true")
	w, err := logs.Open("awslogs", info)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		w.Write("stdout", []byte(fmt.Sprintf("line %d\n", i)))
	}
	w.Close()
	if got := events(t, c, "skiff-dual", info.ContainerID); len(got) != 10 {
		t.Fatalf("%d events, want 10", len(got))
	}
	path, err := logs.ReadPath("awslogs", info.Config, filepath.Dir(info.LogPath), info.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := logs.Read(path, logs.ReadOptions{Tail: 2})
	if err != nil || len(ents) != 2 || ents[1].Log != "line 9\n" {
		t.Fatalf("cache tail %+v, %v", ents, err)
	}
}

func TestFlushInterval(t *testing.T) {
	url, c := endpoint(t)
	info := logstest.NewInfo(t)
	info.Config = options(url, "skiff-flush", "awslogs-create-group", "true", "awslogs-force-flush-interval-seconds", "1")
	d, err := awslogs.New(info)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Log(&logdriver.Message{Line: []byte("before close"), Timestamp: time.Now()})
	// Sent within the flush interval, without Close.
	deadline := time.Now().Add(5 * time.Second)
	for len(events(t, c, "skiff-flush", info.ContainerID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not sent within 5 s with a 1 s flush interval")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
