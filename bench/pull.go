package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiff-dev/skiff/hack/testimages"
)

// pullBench serves two images from a registry on 127.0.0.1, one with a
// single layer of about mib MiB of files and one with the same content
// in four layers, and times pulling each with skiff and podman (the
// image removed before each run), against the physical limits measured
// in the same run: reading the blobs from the registry, and `tar -xzf`
// of them one after the other into a fresh directory on the same disk.
func pullBench(r runner, skiff, base string, mib, n int) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(lis) }() // returns ErrServerClosed at the end
	defer srv.Close()
	addr := lis.Addr().String()

	fmt.Printf("pull: making a %d MiB image (one layer, and four)...\n", mib)
	one, err := contentImage(mib, 1)
	if err != nil {
		return err
	}
	four, err := contentImage(mib, 4)
	if err != nil {
		return err
	}
	for name, img := range map[string]v1.Image{"pull-one": one, "pull-four": four} {
		if err := testimages.Push(addr, name+":latest", img); err != nil {
			return err
		}
	}
	blobDir := filepath.Join(base, "blobs")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		img  v1.Image
	}{{"pull-one", one}, {"pull-four", four}} {
		blobs, size, err := writeBlobs(c.img, blobDir, c.name)
		if err != nil {
			return err
		}
		ref := addr + "/" + c.name + ":latest"
		fetch := func() error { return fetchBlobs(addr, c.name, c.img) }
		untar := func() error {
			dest := filepath.Join(base, "untar")
			if err := r.must("mkdir", dest); err != nil {
				return err
			}
			defer r.cleanup("rm", "-rf", dest)
			for _, b := range blobs {
				if err := r.must("tar", "-xzf", b, "-C", dest); err != nil {
					return err
				}
			}
			// What the engines pay too: the files reach the disk.
			return r.must("sync", "-f", base)
		}
		pull := func(engine string, args ...string) func() error {
			return func() error {
				_ = r.cmd(engine, "rmi", "-f", ref).Run() // absent before the first run
				if err := r.must(engine, args...); err != nil {
					return err
				}
				return r.must("sync", "-f", base)
			}
		}
		meds := map[string]time.Duration{}
		for _, m := range []struct {
			name string
			f    func() error
		}{
			{"fetch", fetch},
			{"tar -xzf", untar},
			{"skiff", pull(skiff, "pull", ref)},
			{"podman", pull("podman", "pull", "-q", "--tls-verify=false", ref)},
		} {
			med, err := median(n, m.f)
			if err != nil {
				return fmt.Errorf("%s of %s: %w", m.name, c.name, err)
			}
			meds[m.name] = med
			fmt.Printf("%-8s %s (%d MiB compressed): median %v (%d runs, rootless)\n", m.name, c.name, size>>20, med.Round(time.Millisecond), n)
		}
		r.cleanup(skiff, "rmi", "-f", ref)
		r.cleanup("podman", "rmi", "-f", ref)
		fmt.Printf("ratio skiff/tar -xzf for %s: %.2fx (target 1.30x); skiff/podman: %.2fx (target 0.50x for several layers); fetch alone %.2fx of tar\n",
			c.name, ratio(meds["skiff"], meds["tar -xzf"]), ratio(meds["skiff"], meds["podman"]), ratio(meds["fetch"], meds["tar -xzf"]))
	}
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func median(n int, f func() error) (time.Duration, error) {
	var ts []time.Duration
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts = append(ts, time.Since(start))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[len(ts)/2], nil
}

// contentImage is an image of about mib MiB of files (text of random
// words, which gzip shrinks about as it does source trees, in files of
// 1 to 200 KiB) split into the given number of layers.
func contentImage(mib, layers int) (v1.Image, error) {
	rng := rand.New(rand.NewSource(1))
	words := make([]string, 2000)
	for i := range words {
		b := make([]byte, 2+rng.Intn(9))
		for j := range b {
			b[j] = byte('a' + rng.Intn(26))
		}
		words[i] = string(b)
	}
	img := empty.Image
	per := int64(mib) << 20 / int64(layers)
	for l := range layers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		var total int64
		for f := 0; total < per; f++ {
			size := 1024 + rng.Intn(200<<10)
			var sb strings.Builder
			for sb.Len() < size {
				sb.WriteString(words[rng.Intn(len(words))])
				if rng.Intn(12) == 0 {
					sb.WriteByte('\n')
				} else {
					sb.WriteByte(' ')
				}
			}
			data := sb.String()
			name := fmt.Sprintf("l%d/d%03d/f%05d.txt", l, f/100, f)
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: testimages.Created}); err != nil {
				return nil, err
			}
			if _, err := io.WriteString(tw, data); err != nil {
				return nil, err
			}
			total += int64(len(data))
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
		raw := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
		if err != nil {
			return nil, err
		}
		// Compress once, not on every read.
		compressed, err := compressedCopy(layer)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.AppendLayers(img, compressed); err != nil {
			return nil, err
		}
	}
	return img, nil
}

func compressedCopy(l v1.Layer) (v1.Layer, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// writeBlobs writes the image's compressed layers to files for tar.
func writeBlobs(img v1.Image, dir, name string) (paths []string, total int64, err error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, 0, err
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return nil, 0, err
		}
		p := filepath.Join(dir, fmt.Sprintf("%s-%d.tar.gz", name, i))
		f, err := os.Create(p)
		if err != nil {
			rc.Close()
			return nil, 0, err
		}
		n, err := io.Copy(f, rc)
		rc.Close()
		f.Close()
		if err != nil {
			return nil, 0, err
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return nil, 0, err
		}
		paths = append(paths, p)
		total += n
	}
	return paths, total, nil
}

// fetchBlobs reads every layer blob of the image from the registry.
func fetchBlobs(addr, repo string, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		resp, err := http.Get("http://" + addr + "/v2/" + repo + "/blobs/" + d.String())
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
