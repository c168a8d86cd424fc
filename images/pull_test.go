package images

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/skiff-dev/skiff/opts"
)

func TestPullError(t *testing.T) {
	tests := []struct {
		name       string
		ref        string
		err        error
		wantDenied bool
		wantPrefix string
	}{
		{"401", "busybox", &transport.Error{StatusCode: 401}, true,
			"pull access denied for busybox, repository does not exist or may require 'docker login': "},
		{"403", "someone/private:v1", &transport.Error{StatusCode: 403}, true,
			"pull access denied for someone/private, repository does not exist or may require 'docker login': "},
		{"404 wrapped", "127.0.0.1:5000/nope", fmt.Errorf("GET: %w", &transport.Error{StatusCode: 404}), true,
			"pull access denied for 127.0.0.1:5000/nope, repository does not exist or may require 'docker login': "},
		{"500", "busybox", &transport.Error{StatusCode: 500}, false, "pulling busybox:latest: "},
		{"network", "busybox:1.36", errors.New("dial tcp: connection refused"), false, "pulling busybox:1.36: dial tcp: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			named, err := opts.NormalizeImage(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			got := pullError(named, tt.err)
			if errors.Is(got, ErrPullDenied) != tt.wantDenied {
				t.Errorf("errors.Is(%v, ErrPullDenied) = %v, want %v", got, !tt.wantDenied, tt.wantDenied)
			}
			if !strings.HasPrefix(got.Error(), tt.wantPrefix) {
				t.Errorf("pullError = %q, want prefix %q", got, tt.wantPrefix)
			}
			if !tt.wantDenied && !errors.Is(got, tt.err) {
				t.Errorf("pullError(%v) does not wrap the cause", tt.err)
			}
		})
	}
}

func TestProgressReader(t *testing.T) {
	var msgs []jsonstream.Message
	data := strings.Repeat("x", 1000)
	pr := &progressReader{
		r: strings.NewReader(data), total: 1000, id: "0123456789ab", status: "Downloading",
		progress: func(m jsonstream.Message) { msgs = append(msgs, m) },
	}
	b, err := io.ReadAll(pr)
	if err != nil || string(b) != data {
		t.Fatalf("ReadAll = %d bytes, %v", len(b), err)
	}
	if len(msgs) == 0 {
		t.Fatal("no progress messages")
	}
	last := msgs[len(msgs)-1]
	if last.Status != "Downloading" || last.ID != "0123456789ab" || last.Progress == nil ||
		last.Progress.Current != 1000 || last.Progress.Total != 1000 {
		t.Errorf("last message = %+v (progress %+v), want Downloading 1000/1000 for 0123456789ab", last, last.Progress)
	}
}
