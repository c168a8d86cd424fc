package testimages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// StartRegistry serves an in-memory registry on a free port of 127.0.0.1
// and returns its address ("127.0.0.1:PORT"); stop shuts it down.
func StartRegistry() (addr string, stop func(), err error) {
	return ServeRegistry("127.0.0.1:0", io.Discard)
}

// ServeRegistry serves an in-memory registry on addr, which must be on
// host 127.0.0.1 (port 0 picks a free one), logging requests to logw. It
// returns the address it listens on; stop shuts the registry down.
func ServeRegistry(addr string, logw io.Writer) (string, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, err
	}
	if host != "127.0.0.1" {
		return "", nil, fmt.Errorf("testimages: registry address %q: only 127.0.0.1 is allowed", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(logw, "registry: ", log.LstdFlags))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("testimages: registry on %s: %v", l.Addr(), err)
		}
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}
	return l.Addr().String(), stop, nil
}

// Push uploads img to the plain-HTTP registry at addr as repoTag
// ("busybox:latest", "library/debian:bookworm").
func Push(addr, repoTag string, img v1.Image) error {
	ref, err := name.NewTag(addr+"/"+repoTag, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(ref, img)
}
