// Command mkimage writes the test images skiff's tests use as docker-save tarballs.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/hack/testimages"
)

const usage = `usage:
  go run ./hack/mkimage -o DIR
      writes DIR/busybox.tar (busybox:latest) built from /bin/busybox
  go run ./hack/mkimage -rootfs DIR -tag REPO:TAG [-tag ...] [-cmd CMD] -o FILE
      packs the directory tree DIR as a single-layer image tarball FILE

`

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var (
		out    = flag.String("o", "", "output directory (busybox) or output file (with -rootfs)")
		rootfs = flag.String("rootfs", "", "pack this directory tree instead of building busybox")
		cmd    = flag.String("cmd", "", "image Cmd for -rootfs, split on spaces (default sh)")
		tags   listFlag
	)
	flag.Var(&tags, "tag", "image tag for -rootfs (repeatable)")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, *rootfs, *cmd, tags); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(out, rootfs, cmd string, tags []string) error {
	var (
		img  v1.Image
		file string
		err  error
	)
	if rootfs == "" {
		if cmd != "" || len(tags) > 0 {
			return fmt.Errorf("-cmd and -tag only go with -rootfs")
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		file, tags = filepath.Join(out, "busybox.tar"), []string{"busybox:latest"}
		img, err = testimages.Busybox()
	} else {
		if len(tags) == 0 {
			return fmt.Errorf("-rootfs needs at least one -tag")
		}
		argv := strings.Fields(cmd)
		if len(argv) == 0 {
			argv = []string{"sh"}
		}
		file = out
		img, err = testimages.FromDir(rootfs, argv)
	}
	if err != nil {
		return err
	}
	// Write to a temporary name first so that an interrupted run never
	// leaves a truncated tarball behind.
	tmp := file + ".tmp"
	if err := testimages.WriteTarball(tmp, img, tags...); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	fmt.Println(file)
	return nil
}
