package test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPullImagesTagRmi(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		// Pulling again: the image is up to date, layers already exist.
		out := e.mustSkiff(t, "pull", busyboxRef)
		contains(t, "pull output", out, "Pulling from busybox")
		contains(t, "pull output", out, "Digest: sha256:")
		contains(t, "pull output", out, "Status: Image is up to date for "+busyboxRef)

		// A fresh repository name: layers exist, the name is new.
		out = e.mustSkiff(t, "pull", ownedRef)
		contains(t, "pull output", out, "Status: Downloaded newer image for "+ownedRef)

		out = e.mustSkiff(t, "images")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != "REPOSITORY TAG IMAGE ID CREATED SIZE" {
			t.Errorf("images header: %q", lines[0])
		}
		contains(t, "images", out, "busybox ")
		contains(t, "images", out, registry+"/owned ")

		e.mustSkiff(t, "tag", "busybox", "mytag:v1")
		var insp []struct {
			ID       string `json:"Id"`
			RepoTags []string
			Config   struct{ Cmd []string }
			RootFS   struct{ Type string }
		}
		if err := json.Unmarshal([]byte(e.mustSkiff(t, "image", "inspect", "mytag:v1")), &insp); err != nil {
			t.Fatal(err)
		}
		if len(insp) != 1 || !strings.HasPrefix(insp[0].ID, "sha256:") || insp[0].Config.Cmd[0] != "sh" || insp[0].RootFS.Type != "layers" {
			t.Errorf("image inspect: %+v", insp)
		}
		tags := strings.Join(insp[0].RepoTags, ",")
		contains(t, "RepoTags", tags, "mytag:v1")
		contains(t, "RepoTags", tags, "busybox:latest")

		id := strings.TrimSpace(e.mustSkiff(t, "image", "inspect", "-f", "{{.Id}}", "busybox"))
		if id != insp[0].ID {
			t.Errorf("inspect -f: %q, want %q", id, insp[0].ID)
		}

		hist := e.mustSkiff(t, "history", "busybox")
		contains(t, "history", hist, "IMAGE")
		contains(t, "history", hist, "CREATED BY")

		// rmi of one of several names only untags.
		out = e.mustSkiff(t, "rmi", "mytag:v1")
		if strings.TrimSpace(out) != "Untagged: mytag:v1" {
			t.Errorf("rmi output: %q", out)
		}
		if r := e.skiff(t, "image", "inspect", "mytag:v1"); r.code != 1 || !strings.Contains(r.stderr, "No such image: mytag:v1") {
			t.Errorf("inspect after rmi: %s", r)
		}
		e.mustSkiff(t, "image", "inspect", "busybox")

		// rmi of the last name deletes the image (its own layer only).
		out = e.mustSkiff(t, "rmi", ownedRef)
		contains(t, "rmi output", out, "Untagged: "+ownedRef)
		contains(t, "rmi output", out, "Deleted: sha256:")

		if r := e.skiff(t, "rmi", "nosuchimage"); r.code != 1 || !strings.Contains(r.stderr, "No such image: nosuchimage:latest") {
			t.Errorf("rmi of a missing image: %s", r)
		}
		out = e.mustSkiff(t, "image", "prune", "-f")
		contains(t, "image prune", out, "Total reclaimed space:")
	})
}

func TestPullErrors(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		r := e.skiff(t, "pull", registry+"/does-not-exist:v1")
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "does-not-exist") {
			t.Errorf("pull of a missing repository: %s", r)
		}
		r = e.skiff(t, "pull", "Bad_Reference!")
		if r.code != 1 || !strings.Contains(r.stderr, "invalid reference format") {
			t.Errorf("pull of a bad reference: %s", r)
		}
	})
}

func TestImageInUseCannotBeRemoved(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "tag", "busybox", "inuse:v1")
		t.Cleanup(func() { e.skiff(t, "rmi", "inuse:v1") })
		e.mustSkiff(t, "create", "--name", "inuse-holder", "inuse:v1", "true")
		e.cleanupContainer(t, "inuse-holder")
		id := strings.TrimSpace(e.mustSkiff(t, "image", "inspect", "-f", "{{.Id}}", "busybox"))
		r := e.skiff(t, "rmi", id)
		if r.code != 1 || !strings.Contains(r.stderr, "conflict: unable to delete") {
			t.Errorf("rmi of an image in use: %s", r)
		}
	})
}
