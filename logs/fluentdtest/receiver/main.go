// Command receiver runs the OpenTelemetry Collector's fluentforward
// receiver on 127.0.0.1 (or a unix socket) and prints every event it
// receives as a JSON line: the tests of skiff's fluentd driver read them.
// It is a program of its own because the receiver and fluent-logger-golang
// both register msgpack extension 0 and cannot share a process.
//
//	receiver [-unix PATH]
//
// It prints "LISTENING <address>" once it accepts connections.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/fluentforwardreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// Record is one received event.
type Record struct {
	Tag    string            `json:"tag"`
	Time   time.Time         `json:"time"`
	Log    string            `json:"log"`
	Fields map[string]string `json:"fields"`
}

func main() {
	unix := flag.String("unix", "", "listen on this unix socket instead of 127.0.0.1")
	flag.Parse()
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	sink, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		mu.Lock()
		defer mu.Unlock()
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					rec := Record{Time: lr.Timestamp().AsTime(), Log: lr.Body().AsString(), Fields: map[string]string{}}
					for key, v := range lr.Attributes().All() {
						if key == "fluent.tag" {
							rec.Tag = v.AsString()
						} else {
							rec.Fields[key] = v.AsString()
						}
					}
					if err := enc.Encode(rec); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		fail(err)
	}
	f := fluentforwardreceiver.NewFactory()
	for attempt := 0; ; attempt++ {
		cfg := f.CreateDefaultConfig().(*fluentforwardreceiver.Config)
		addr := "unix://" + *unix
		if *unix == "" {
			// The receiver listens on TCP and UDP (heartbeats) on one
			// port, and does not say which it got for port 0.
			addr = freePort()
		}
		cfg.ListenAddress = addr
		rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
		if err != nil {
			fail(err)
		}
		if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			if attempt < 5 && *unix == "" {
				continue
			}
			fail(err)
		}
		fmt.Printf("LISTENING %s\n", addr)
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		rcv.Shutdown(context.Background())
		return
	}
}

func freePort() string {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fail(err)
		}
		addr := l.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "receiver:", err)
	os.Exit(1)
}
