package engine

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/skiff-dev/skiff/images"
)

func TestMergeImageConfigDockerOrder(t *testing.T) {
	img := &images.Image{Config: v1.ConfigFile{Config: v1.Config{
		Env: []string{"PATH=/bin", "A=image", "B=image"}, Cmd: []string{"sh"}, Entrypoint: []string{"/entry"},
	}}}
	cfg := mergeImageConfig(&container.Config{Env: []string{"B=user", "C=user"}}, img)
	if want := []string{"B=user", "C=user", "PATH=/bin", "A=image"}; !reflect.DeepEqual(cfg.Env, want) {
		t.Errorf("Env = %v, want %v", cfg.Env, want)
	}
	// An empty (not nil) entrypoint keeps no entrypoint but takes the image's Cmd.
	cfg = mergeImageConfig(&container.Config{Entrypoint: []string{}}, img)
	if len(cfg.Entrypoint) != 0 || !reflect.DeepEqual([]string(cfg.Cmd), []string{"sh"}) {
		t.Errorf("Entrypoint %v Cmd %v", cfg.Entrypoint, cfg.Cmd)
	}
	// --entrypoint "" with a command runs just the command.
	path, args := commandOf(&container.Config{Entrypoint: []string{""}, Cmd: []string{"echo", "hi"}})
	if path != "echo" || !reflect.DeepEqual(args, []string{"hi"}) {
		t.Errorf("commandOf = %q %v", path, args)
	}
}
