// Package awslogs is the awslogs log driver, Docker's: batches of events
// to an Amazon CloudWatch Logs stream through the AWS SDK for Go v2, with
// credentials from the SDK's default chain.
package awslogs

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// Name is the driver's name.
const Name = "awslogs"

const (
	regionKey              = "awslogs-region"
	endpointKey            = "awslogs-endpoint"
	regionEnvKey           = "AWS_REGION"
	logGroupKey            = "awslogs-group"
	logStreamKey           = "awslogs-stream"
	logCreateGroupKey      = "awslogs-create-group"
	logCreateStreamKey     = "awslogs-create-stream"
	datetimeFormatKey      = "awslogs-datetime-format"
	multilinePatternKey    = "awslogs-multiline-pattern"
	credentialsEndpointKey = "awslogs-credentials-endpoint"
	forceFlushIntervalKey  = "awslogs-force-flush-interval-seconds"
	maxBufferedEventsKey   = "awslogs-max-buffered-events"
	logFormatKey           = "awslogs-format"

	defaultForceFlushInterval = 5 * time.Second
	defaultMaxBufferedEvents  = 4096

	// PutLogEvents limits.
	perEventBytes          = 26
	maximumBytesPerPut     = 1048576
	maximumLogEventsPerPut = 10000
	// Invalid UTF-8 becomes U+FFFD (3 bytes) at the service; lengths are
	// counted as if it had.
	maximumBytesPerEvent = 262144 - perEventBytes

	credentialsEndpoint = "http://169.254.170.2"
	jsonEmfLogFormat    = "json/emf"
	logsFormatHeader    = "x-amzn-logs-format"

	// closeTimeout bounds how long Close waits for the last batch.
	closeTimeout = 30 * time.Second
)

// Keys are the options the driver takes.
var Keys = []string{
	logdriver.OptTag, logGroupKey, logStreamKey, logCreateGroupKey, logCreateStreamKey,
	regionKey, endpointKey, datetimeFormatKey, multilinePatternKey, credentialsEndpointKey,
	forceFlushIntervalKey, maxBufferedEventsKey, logFormatKey,
}

// ErrorLog receives the errors of batches that could not be sent (the
// monitor's stderr).
var ErrorLog = log.New(os.Stderr, "awslogs: ", log.LstdFlags)

// ValidateOptions checks the options as Docker does.
func ValidateOptions(cfg map[string]string) error {
	if err := logdriver.CheckKeys(Name, cfg, Keys...); err != nil {
		return err
	}
	if cfg[logGroupKey] == "" {
		return logdriver.Errorf("must specify a value for log opt '%s'", logGroupKey)
	}
	for _, k := range []string{logCreateGroupKey, logCreateStreamKey} {
		if cfg[k] != "" {
			if _, err := strconv.ParseBool(cfg[k]); err != nil {
				return logdriver.Errorf("must specify valid value for log opt '%s': %v", k, err)
			}
		}
	}
	for _, k := range []string{forceFlushIntervalKey, maxBufferedEventsKey} {
		if cfg[k] != "" {
			if v, err := strconv.Atoi(cfg[k]); err != nil || v <= 0 {
				return logdriver.Errorf("must specify a positive integer for log opt '%s': %v", k, cfg[k])
			}
		}
	}
	_, hasDatetime := cfg[datetimeFormatKey]
	_, hasMultiline := cfg[multilinePatternKey]
	if hasDatetime && hasMultiline {
		return logdriver.Errorf("you cannot configure log opt '%s' and '%s' at the same time", datetimeFormatKey, multilinePatternKey)
	}
	if cfg[logFormatKey] != "" {
		if cfg[logFormatKey] != jsonEmfLogFormat {
			return logdriver.Errorf("unsupported log format '%s'", cfg[logFormatKey])
		}
		if hasDatetime || hasMultiline {
			return logdriver.Errorf("you cannot configure log opt '%s' or '%s' when log opt '%s' is set to '%s'",
				datetimeFormatKey, multilinePatternKey, logFormatKey, jsonEmfLogFormat)
		}
	}
	if _, err := parseMultiline(cfg); err != nil {
		return err
	}
	return nil
}

// api is the part of the CloudWatch Logs client the driver uses.
type api interface {
	CreateLogGroup(context.Context, *cloudwatchlogs.CreateLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	CreateLogStream(context.Context, *cloudwatchlogs.CreateLogStreamInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(context.Context, *cloudwatchlogs.PutLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// Driver queues messages and sends them in batches: every
// awslogs-force-flush-interval-seconds (default 5), when a batch is full,
// and at Close.
type Driver struct {
	group, stream             string
	createGroup, createStream bool
	flushInterval             time.Duration
	multiline                 *regexp.Regexp
	client                    api

	mu       sync.RWMutex // Log holds it shared, Close exclusively
	closed   bool
	messages chan *logdriver.Message
	closing  chan struct{} // closed by Close
	done     chan struct{} // closed when the collector has finished
	ctx      context.Context
	cancel   context.CancelFunc

	sequenceToken *string
}

var errClosed = errors.New("awslogs is closed")

// New creates the log stream (and with awslogs-create-group the group), as
// Docker's does; with mode=non-blocking that is retried in the background.
func New(info logdriver.Info) (*Driver, error) {
	d, err := newDriver(info)
	if err != nil {
		return nil, err
	}
	client, err := newClient(info)
	if err != nil {
		return nil, err
	}
	d.client = client
	nonBlocking := info.Config["mode"] == "non-blocking"
	created := d.start(nonBlocking)
	if !nonBlocking {
		if err := <-created; err != nil {
			d.cancel()
			return nil, err
		}
	}
	return d, nil
}

// newDriver reads the options into a driver that has no client yet.
func newDriver(info logdriver.Info) (*Driver, error) {
	cfg := info.Config
	stream, err := info.Tag("{{.FullID}}")
	if err != nil {
		return nil, logdriver.Errorf("%v", err)
	}
	if cfg[logStreamKey] != "" {
		stream = cfg[logStreamKey]
	}
	d := &Driver{group: cfg[logGroupKey], stream: stream, createStream: true,
		flushInterval: defaultForceFlushInterval}
	if v := cfg[logCreateGroupKey]; v != "" {
		if d.createGroup, err = strconv.ParseBool(v); err != nil {
			return nil, logdriver.Errorf("%v", err)
		}
	}
	if v := cfg[logCreateStreamKey]; v != "" {
		if d.createStream, err = strconv.ParseBool(v); err != nil {
			return nil, logdriver.Errorf("%v", err)
		}
	}
	if v := cfg[forceFlushIntervalKey]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, logdriver.Errorf("%v", err)
		}
		d.flushInterval = time.Duration(n) * time.Second
	}
	maxBuffered := defaultMaxBufferedEvents
	if v := cfg[maxBufferedEventsKey]; v != "" {
		if maxBuffered, err = strconv.Atoi(v); err != nil {
			return nil, logdriver.Errorf("%v", err)
		}
	}
	if d.multiline, err = parseMultiline(cfg); err != nil {
		return nil, err
	}
	d.messages = make(chan *logdriver.Message, maxBuffered)
	d.done = make(chan struct{})
	d.closing = make(chan struct{})
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return d, nil
}

// newClient makes the CloudWatch Logs client: region from awslogs-region,
// else $AWS_REGION, else the EC2 instance metadata (as Docker); endpoint
// from awslogs-endpoint; credentials from the SDK's default chain, or
// awslogs-credentials-endpoint.
func newClient(info logdriver.Info) (*cloudwatchlogs.Client, error) {
	ctx := context.Background()
	region := os.Getenv(regionEnvKey)
	if v := info.Config[regionKey]; v != "" {
		region = v
	}
	if region == "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("could not create regionFinder: %w", err)
		}
		r, err := imds.NewFromConfig(cfg).GetRegion(ctx, &imds.GetRegionInput{})
		if err != nil {
			return nil, fmt.Errorf("cannot determine region for awslogs driver: %w", err)
		}
		region = r.Region
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if uri, ok := info.Config[credentialsEndpointKey]; ok {
		opts = append(opts, config.WithCredentialsProvider(endpointcreds.New(credentialsEndpoint+uri)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("could not initialize AWS SDK config: %w", err)
	}
	var clientOpts []func(*cloudwatchlogs.Options)
	if ep := info.Config[endpointKey]; ep != "" {
		clientOpts = append(clientOpts, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(ep) })
	}
	if info.Config[logFormatKey] != "" {
		clientOpts = append(clientOpts, withHeader(logsFormatHeader, jsonEmfLogFormat))
	}
	return cloudwatchlogs.NewFromConfig(cfg, clientOpts...), nil
}

// Name is "awslogs".
func (d *Driver) Name() string { return Name }

// BufSize is the longest event CloudWatch takes: the copier splits lines
// there rather than at 16 KiB, as Docker's does.
func (d *Driver) BufSize() int { return maximumBytesPerEvent }

// Log queues a copy of m; it blocks while awslogs-max-buffered-events
// messages wait.
func (d *Driver) Log(m *logdriver.Message) error {
	c := &logdriver.Message{Line: append([]byte(nil), m.Line...), Source: m.Source, Timestamp: m.Timestamp}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return errClosed
	}
	select {
	case d.messages <- c:
		return nil
	case <-d.done:
		return errClosed
	}
}

// Close sends what is queued and waits for it (at most 30 s).
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.messages)
	close(d.closing)
	d.mu.Unlock()
	t := time.AfterFunc(closeTimeout, d.cancel)
	defer t.Stop()
	<-d.done
	d.cancel()
	return nil
}

// create makes the stream, and the group when it is missing and
// awslogs-create-group is set.
func (d *Driver) create(ctx context.Context) error {
	err := d.createLogStream(ctx)
	if err == nil {
		return nil
	}
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) && d.createGroup {
		if err := d.createLogGroup(ctx); err != nil {
			return fmt.Errorf("failed to create Cloudwatch log group: %w", err)
		}
		if err = d.createLogStream(ctx); err == nil {
			return nil
		}
	}
	return fmt.Errorf("failed to create Cloudwatch log stream: %w", err)
}

func (d *Driver) createLogGroup(ctx context.Context) error {
	_, err := d.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(d.group)})
	var exists *types.ResourceAlreadyExistsException
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

func (d *Driver) createLogStream(ctx context.Context) error {
	if !d.createStream {
		return nil
	}
	_, err := d.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: aws.String(d.group), LogStreamName: aws.String(d.stream)})
	var exists *types.ResourceAlreadyExistsException
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

// parseMultiline turns awslogs-datetime-format (strftime) or
// awslogs-multiline-pattern into the regexp that starts an event.
func parseMultiline(cfg map[string]string) (*regexp.Regexp, error) {
	pattern := cfg[multilinePatternKey]
	if f := cfg[datetimeFormatKey]; f != "" {
		pattern = formatSequences.ReplaceAllStringFunc(f, func(s string) string { return strftimeToRegex[s] })
	}
	if pattern == "" {
		return nil, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, logdriver.Errorf("awslogs could not parse multiline pattern key %q: %v", pattern, err)
	}
	return re, nil
}

var formatSequences = regexp.MustCompile("%.")

// strftimeToRegex is Docker's table.
var strftimeToRegex = map[string]string{
	`%a`: `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)`,
	`%A`: `(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)`,
	`%w`: `[0-6]`,
	`%d`: `(?:0[1-9]|[1,2][0-9]|3[0,1])`,
	`%b`: `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`,
	`%B`: `(?:January|February|March|April|May|June|July|August|September|October|November|December)`,
	`%m`: `(?:0[1-9]|1[0-2])`,
	`%Y`: `\d{4}`,
	`%y`: `\d{2}`,
	`%H`: `(?:[0,1][0-9]|2[0-3])`,
	`%I`: `(?:0[0-9]|1[0-2])`,
	`%p`: "[A,P]M",
	`%M`: `[0-5][0-9]`,
	`%S`: `[0-5][0-9]`,
	`%f`: `\d{6}`,
	`%z`: `[+-]\d{4}`,
	`%Z`: `[A-Z]{1,4}T`,
	`%j`: `(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])`,
	`%L`: `\.\d{3}`,
}

// event is one event of a batch, with its place for a stable sort.
type event struct {
	in    types.InputLogEvent
	order int
}

// batch is the events of one PutLogEvents call.
type batch struct {
	events []event
	bytes  int
}

func (b *batch) add(e event, size int) bool {
	n := size + perEventBytes
	if len(b.events) >= maximumLogEventsPerPut || b.bytes+n > maximumBytesPerPut {
		return false
	}
	b.bytes += n
	b.events = append(b.events, e)
	return true
}

func (b *batch) reset() { b.events, b.bytes = b.events[:0], 0 }

// effectiveLen counts bytes as the service will, invalid UTF-8 as U+FFFD.
func effectiveLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf8.RuneLen(r)
	}
	return n
}

// findValidSplit is the offset at which to cut s to at most limit
// effective bytes without splitting a character, and the effective length
// before it.
func findValidSplit(s string, limit int) (offset, effective int) {
	for off, r := range s {
		if effective+utf8.RuneLen(r) > limit {
			return off, effective
		}
		effective += utf8.RuneLen(r)
	}
	return len(s), effective
}

func sortEvents(evs []event) []types.InputLogEvent {
	sort.SliceStable(evs, func(i, j int) bool {
		ti, tj := aws.ToInt64(evs[i].in.Timestamp), aws.ToInt64(evs[j].in.Timestamp)
		if ti == tj {
			return evs[i].order < evs[j].order
		}
		return ti < tj
	})
	out := make([]types.InputLogEvent, len(evs))
	for i, e := range evs {
		out[i] = e.in
	}
	return out
}
