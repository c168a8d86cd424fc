package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/skiff-dev/skiff/hack/testimages"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/reexec"
)

func TestMain(m *testing.M) {
	// containers/storage unpacks layers in a re-executed copy of the
	// test binary.
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

// eachDriver runs test once per storage driver: vfs (containers/storage's
// unpacker) and, where the kernel mounts it, native overlay (skiff's
// own unpacker through the staged-layer path). It needs root (the
// store chowns and chroots while unpacking).
func eachDriver(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: containers/storage chroots and chowns while unpacking")
	}
	for _, d := range []string{DriverVFS, DriverOverlay} {
		t.Run(d, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Options{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), Driver: d})
			if err != nil {
				if d == DriverOverlay {
					t.Skipf("overlay does not work here: %v", err)
				}
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if _, err := s.Shutdown(true); err != nil {
					t.Error(err)
				}
			})
			if d == DriverOverlay && !s.staged {
				t.Fatal("the overlay store does not use skiff's unpacker")
			}
			test(t, s)
		})
	}
}

func fileImage(t *testing.T, name, content string) v1.Image {
	t.Helper()
	img, err := testimages.WithLayerFile(empty.Image, name, content)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func layerCount(t *testing.T, s *Store) int {
	t.Helper()
	ls, err := s.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return len(ls)
}

func diffIDOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.RootFS.DiffIDs[len(cfg.RootFS.DiffIDs)-1]
}

// statuses collects the progress statuses of one store operation.
type statuses struct {
	mu   sync.Mutex
	list []string
}

func (s *statuses) progress(m jsonstream.Message) {
	s.mu.Lock()
	s.list = append(s.list, m.Status)
	s.mu.Unlock()
}

func (s *statuses) has(status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.list {
		if x == status {
			return true
		}
	}
	return false
}

func TestLoadVerifiesDiffIDs(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *Store) {
		good := fileImage(t, "good", "good\n")
		if _, _, err := s.storeLayersAndImage(good, nil, "", fromArchive, nil); err != nil {
			t.Fatalf("a good image: %v", err)
		}
		before := layerCount(t, s)
		liar, err := testimages.WithDiffID(fileImage(t, "liar", "liar\n"), 0, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.storeLayersAndImage(liar, nil, "", fromArchive, nil)
		if err == nil || !strings.Contains(err.Error(), `invalid diffID for layer 0: expected "sha256:abab`) {
			t.Fatalf("loading an image whose layer is not its diff_id: err = %v, want Docker's invalid diffID error", err)
		}
		if n := layerCount(t, s); n != before {
			t.Errorf("the store has %d layers after the refused load, had %d", n, before)
		}
		if ims, _ := s.Images(); len(ims) != 1 {
			t.Errorf("the store has %d images after the refused load, want 1", len(ims))
		}
	})
}

func TestPoisonThenPull(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *Store) {
		genuine := fileImage(t, "app", "the real thing\n")
		poison, err := testimages.WithDiffID(fileImage(t, "app", "poison\n"), 0, diffIDOf(t, genuine))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.storeLayersAndImage(poison, nil, "", fromArchive, nil); err == nil {
			t.Fatal("an image whose layer claims another image's diff_id was accepted")
		}
		var st statuses
		im, _, err := s.storeLayersAndImage(genuine, nil, "", fromRegistry, st.progress)
		if err != nil {
			t.Fatalf("the real image after the poisoned one: %v", err)
		}
		if st.has("Already exists") || !st.has("Pull complete") {
			t.Errorf("the real image's layer was not unpacked afresh: statuses %q", st.list)
		}
		l, err := s.Layer(im.TopLayer)
		if err != nil {
			t.Fatal(err)
		}
		if l.UncompressedDigest.String() != diffIDOf(t, genuine).String() {
			t.Errorf("stored layer digest %s, want %s", l.UncompressedDigest, diffIDOf(t, genuine))
		}
		rc, err := s.Diff("", l.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		plain, err := archive.DecompressStream(rc)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(plain)
		if !bytes.Contains(b, []byte("the real thing")) || bytes.Contains(b, []byte("poison")) {
			t.Errorf("the stored layer does not hold the real image's file")
		}
	})
}

// tamperingRegistry serves a registry whose blob `bad` comes back with
// one byte changed.
func tamperingRegistry(t *testing.T, bad v1.Hash) string {
	t.Helper()
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+bad.String()) {
			reg.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) > 0 {
			body[len(body)-1] ^= 0xff
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if _, err := w.Write(body); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestPullVerifiesDigests(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *Store) {
		img := fileImage(t, "f", strings.Repeat("data ", 1000))
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		blob, err := layers[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		addr := tamperingRegistry(t, blob)
		if err := testimages.Push(addr, "tampered:latest", img); err != nil {
			t.Fatal(err)
		}
		liar, err := testimages.WithDiffID(fileImage(t, "g", "other\n"), 0, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)})
		if err != nil {
			t.Fatal(err)
		}
		if err := testimages.Push(addr, "liar:latest", liar); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := s.Pull(ctx, addr+"/tampered:latest", PullOptions{}, nil); err == nil {
			t.Error("a blob that does not match the manifest's digest was accepted")
		} else if !strings.Contains(err.Error(), "error verifying sha256 checksum") {
			t.Errorf("tampered blob: err = %v, want go-containerregistry's checksum error", err)
		}
		if _, err := s.Pull(ctx, addr+"/liar:latest", PullOptions{}, nil); !errors.Is(err, ErrRootFSMismatch) {
			t.Errorf("a layer that is not its diff_id: err = %v, want %v", err, ErrRootFSMismatch)
		}
		if n := layerCount(t, s); n != 0 {
			t.Errorf("the store keeps %d layers of refused pulls", n)
		}
	})
}

func TestHostileLayers(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *Store) {
		canary := filepath.Join(t.TempDir(), "canary")
		if err := os.WriteFile(canary, []byte("canary\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		corpus, err := testimages.HostileCorpus(empty.Image, canary)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range corpus {
			t.Run(h.Name, func(t *testing.T) {
				_, _, err := s.storeLayersAndImage(h.Image, nil, "", fromArchive, nil)
				if h.Refused != "" {
					if !errors.Is(err, ErrBadLayer) || !strings.Contains(err.Error(), `entry "`+h.Refused+`"`) {
						t.Errorf("err = %v, want %v naming the entry", err, ErrBadLayer)
					}
				} else if err != nil {
					t.Errorf("err = %v, want the layer unpacked inside the store", err)
				}
				if b, err := os.ReadFile(canary); err != nil || string(b) != "canary\n" {
					t.Fatalf("the canary outside the store changed: %q, %v", b, err)
				}
			})
		}
	})
}

func TestKeyedLocks(t *testing.T) {
	var k keyedLocks
	var mu sync.Mutex
	inside := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a", "b"}[i%2]
			unlock := k.lock(key)
			mu.Lock()
			inside[key]++
			if inside[key] > 1 {
				t.Errorf("two holders of lock %s", key)
			}
			mu.Unlock()
			// Hold the lock a while, so that a broken lock lets others in.
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside[key]--
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	if len(k.locks) != 0 {
		t.Errorf("%d locks left after every holder released", len(k.locks))
	}
}

// layeredImage is an image of n layers, each holding one file.
func layeredImage(t *testing.T, tag string, n int) v1.Image {
	t.Helper()
	img := empty.Image
	for i := range n {
		var err error
		img, err = testimages.WithLayerFile(img, fmt.Sprintf("%s-%d", tag, i), strings.Repeat(tag, 1000*(i+1)))
		if err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// TestPullLayersInParallel: layers are fetched and unpacked at once but
// stored in order on their parents; a bad layer in the middle leaves
// none of the image's layers; two pulls of one image unpack each layer
// once.
func TestPullLayersInParallel(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *Store) {
		reg := registry.New()
		srv := httptest.NewServer(reg)
		t.Cleanup(srv.Close)
		addr := strings.TrimPrefix(srv.URL, "http://")
		good := layeredImage(t, "good", 5)
		bad, err := testimages.WithDiffID(layeredImage(t, "bad", 5), 2, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ef", 32)})
		if err != nil {
			t.Fatal(err)
		}
		for ref, img := range map[string]v1.Image{"good:latest": good, "bad:latest": bad} {
			if err := testimages.Push(addr, ref, img); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		if _, err := s.Pull(ctx, addr+"/bad:latest", PullOptions{}, nil); !errors.Is(err, ErrRootFSMismatch) {
			t.Fatalf("pull of an image with a bad middle layer: %v", err)
		}
		if n := layerCount(t, s); n != 0 {
			t.Fatalf("a failed pull left %d layers", n)
		}
		var wg sync.WaitGroup
		var st statuses
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Pull(ctx, addr+"/good:latest", PullOptions{}, st.progress)
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("pulls: %v", errs)
		}
		complete := 0
		for _, x := range st.list {
			if x == "Pull complete" {
				complete++
			}
		}
		if complete != 5 {
			t.Errorf("two pulls of a 5-layer image unpacked %d layers", complete)
		}
		im, err := s.Lookup(addr + "/good:latest")
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := good.ConfigFile()
		id := im.TopLayer
		for i := len(cfg.RootFS.DiffIDs) - 1; i >= 0; i-- {
			l, err := s.Layer(id)
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			if l.UncompressedDigest.String() != cfg.RootFS.DiffIDs[i].String() {
				t.Errorf("layer %d is %s, want %s", i, l.UncompressedDigest, cfg.RootFS.DiffIDs[i])
			}
			id = l.Parent
		}
		if id != "" {
			t.Errorf("the bottom layer has a parent %s", id)
		}
	})
}
