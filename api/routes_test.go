package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/volume"

	"github.com/skiff-dev/skiff/opts"
)

// fakeBackend answers the calls the tests make; the rest of Backend is
// nil and would panic, which would fail the test that reached it.
type fakeBackend struct {
	Backend
	calls []string
}

func (f *fakeBackend) VolumeCreate(_ context.Context, req volume.CreateRequest) (volume.Volume, error) {
	f.calls = append(f.calls, "VolumeCreate "+req.Name)
	return volume.Volume{Name: req.Name, Driver: "local"}, nil
}

func (f *fakeBackend) VolumeList(_ context.Context, flt opts.Filters) (volume.ListResponse, error) {
	f.calls = append(f.calls, "VolumeList "+strings.Join(flt["name"], ","))
	return volume.ListResponse{Volumes: []volume.Volume{}}, nil
}

func (f *fakeBackend) NetworkInspect(_ context.Context, ref string) (network.Inspect, error) {
	f.calls = append(f.calls, "NetworkInspect "+ref)
	if ref == "missing" {
		return network.Inspect{}, errdefs.ErrNotFound.WithMessage("network missing not found")
	}
	return network.Inspect{Network: network.Network{Name: ref}}, nil
}

func (f *fakeBackend) NetworkDisconnect(_ context.Context, ref, ctr string, force bool) error {
	f.calls = append(f.calls, "NetworkDisconnect "+ref+" "+ctr+" "+map[bool]string{true: "force", false: ""}[force])
	return nil
}

func (f *fakeBackend) ImagePull(_ context.Context, ref, _ string, progress Progress) error {
	f.calls = append(f.calls, "ImagePull "+ref)
	if strings.Contains(ref, "early") {
		return errdefs.ErrInvalidArgument.WithMessage("invalid reference format")
	}
	progress(jsonstream.Message{Status: "Pulling from x"})
	return errors.New("pull access denied")
}

func (f *fakeBackend) ExecStart(_ context.Context, id string, upgrade Upgrade) error {
	f.calls = append(f.calls, "ExecStart "+id+" "+map[bool]string{true: "detached", false: "attached"}[upgrade == nil])
	return nil
}

func serve(t *testing.T, b Backend, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	New(b, Options{Version: "test", APIVersion: "1.41"}).ServeHTTP(rec, req)
	return rec
}

func TestRoutesDecodeCallEncode(t *testing.T) {
	f := &fakeBackend{}
	rec := serve(t, f, "POST", "/v1.41/volumes/create", `{"Name":"data"}`)
	var v volume.Volume
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &v) != nil || v.Name != "data" {
		t.Errorf("volume create: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, f, "GET", `/volumes?filters={"name":["da"]}`, ""); rec.Code != http.StatusOK {
		t.Errorf("volume ls: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, f, "GET", `/volumes?filters=nonsense`, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("bad filters: %d %s, want 400", rec.Code, rec.Body)
	}
	if rec := serve(t, f, "GET", "/networks/a%2Fb", ""); rec.Code != http.StatusOK {
		t.Errorf("network inspect of a/b: %d %s", rec.Code, rec.Body)
	}
	rec = serve(t, f, "GET", "/networks/missing", "")
	var msg struct{ Message string }
	if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &msg) != nil || msg.Message != "network missing not found" {
		t.Errorf("missing network: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, f, "POST", "/networks/x/y/disconnect", `{"Container":"web","Force":true}`); rec.Code != http.StatusOK {
		t.Errorf("disconnect: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, f, "POST", "/exec/abc/start", `{"Detach":true}`); rec.Code != http.StatusOK {
		t.Errorf("detached exec start: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, f, "POST", "/volumes/create", `{"Name":`); rec.Code != http.StatusBadRequest {
		t.Errorf("truncated body: %d, want 400", rec.Code)
	}
	if rec := serve(t, f, "PUT", "/volumes", ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown method: %d, want 404", rec.Code)
	}
	want := []string{"VolumeCreate data", "VolumeList da", "NetworkInspect a/b", "NetworkInspect missing",
		"NetworkDisconnect x/y web force", "ExecStart abc detached"}
	if strings.Join(f.calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls\n%q\nwant\n%q", f.calls, want)
	}
}

// TestPullErrors: an error before the first progress message is the
// answer's status; after it, the last message of the stream.
func TestPullErrors(t *testing.T) {
	f := &fakeBackend{}
	if rec := serve(t, f, "POST", "/images/create?fromImage=early&tag=1", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("early error: %d %s, want 400", rec.Code, rec.Body)
	}
	rec := serve(t, f, "POST", "/images/create?fromImage=busybox&tag=latest", "")
	body, _ := io.ReadAll(rec.Body)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if rec.Code != http.StatusOK || len(lines) != 2 || !strings.Contains(lines[1], `"error":"pull access denied"`) {
		t.Errorf("late error: %d %q", rec.Code, lines)
	}
	if rec := serve(t, f, "POST", "/images/create", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("no fromImage: %d, want 400", rec.Code)
	}
	if got := f.calls; len(got) != 2 || got[1] != "ImagePull busybox:latest" {
		t.Errorf("calls %q", got)
	}
}
