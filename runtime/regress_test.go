package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// An explicit user:group gets no supplementary groups (runc's GetExecUser).
func TestResolveUserExplicitGroupHasNoSupplementaryGroups(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("bob:x:1000:1000::/home/bob:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("bob:x:1000:\nstaff:x:50:\nwheel:x:10:bob\n"), 0o644)
	id, err := resolveUser(root, "bob:staff")
	if err != nil {
		t.Fatal(err)
	}
	if id.UID != 1000 || id.GID != 50 || len(id.Groups) != 0 {
		t.Errorf("bob:staff = %+v, want uid 1000 gid 50 and no groups", id)
	}
	id, _ = resolveUser(root, "bob")
	if len(id.Groups) != 1 || id.Groups[0] != 10 {
		t.Errorf("bob = %+v, want the wheel group", id)
	}
}

// A file in PATH that is not executable is skipped, so the command is
// "not found" (127), as exec.LookPath and Docker have it.
func TestLookPathSkipsNonExecutable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o644)
	_, err := lookPath("tool", dir)
	var se *StartError
	if !errors.As(err, &se) || se.Code != 127 {
		t.Fatalf("lookPath = %v, want a 127 StartError", err)
	}
}
