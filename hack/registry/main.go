// Command registry serves an in-memory image registry on 127.0.0.1 for skiff's tests, preloaded from image tarballs.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiff-dev/skiff/hack/testimages"
)

const usage = `usage: go run ./hack/registry [-addr 127.0.0.1:PORT] [-v] [-load FILE=REPO:TAG ...]

Serves a registry until SIGINT or SIGTERM. Once it listens and every -load
tarball has been pushed into it, it prints its address (127.0.0.1:PORT) as
the first line on stdout.

`

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var (
		addr    = flag.String("addr", "127.0.0.1:0", "listen address; the host must be 127.0.0.1")
		verbose = flag.Bool("v", false, "log every request to stderr")
		loads   listFlag
	)
	flag.Var(&loads, "load", "push the image tarball FILE as REPO:TAG (repeatable)")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*addr, *verbose, loads); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(addr string, verbose bool, loads []string) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	// Under `go run`, a SIGTERM kills only the go command: ask the kernel
	// for a SIGTERM when our parent dies so that we do not outlive it.
	const prSetPdeathsig = 1
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", errno)
	}

	logw := io.Discard
	if verbose {
		logw = os.Stderr
	}
	addr, stop, err := testimages.ServeRegistry(addr, logw)
	if err != nil {
		return err
	}
	defer stop()

	for _, l := range loads {
		if err := load(addr, l); err != nil {
			return fmt.Errorf("-load %s: %w", l, err)
		}
	}
	fmt.Println(addr)

	<-sigs
	return nil
}

// load pushes the tarball named by spec ("FILE=REPO:TAG") to the registry.
func load(addr, spec string) error {
	file, repoTag, ok := strings.Cut(spec, "=")
	if !ok || file == "" || repoTag == "" {
		return fmt.Errorf("want FILE=REPO:TAG")
	}
	// A tarball with several images must have one tagged repoTag.
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(file) })
	if err != nil {
		return err
	}
	var tag *name.Tag
	if len(m) != 1 {
		t, err := name.NewTag(repoTag)
		if err != nil {
			return err
		}
		tag = &t
	}
	img, err := tarball.ImageFromPath(file, tag)
	if err != nil {
		return err
	}
	if err := testimages.Push(addr, repoTag, img); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "registry: pushed %s as %s/%s\n", file, addr, repoTag)
	return nil
}
