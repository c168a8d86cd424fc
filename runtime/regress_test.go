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
	writeFiles(t, root, map[string]string{
		"etc/passwd": "bob:x:1000:1000::/home/bob:/bin/sh\n",
		"etc/group":  "bob:x:1000:\nstaff:x:50:\nwheel:x:10:bob\n",
	})
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
	writeFiles(t, dir, map[string]string{"tool": "#!/bin/sh\n"})
	_, err := lookPath("tool", dir)
	var se *StartError
	if !errors.As(err, &se) || se.Code != 127 {
		t.Fatalf("lookPath = %v, want a 127 StartError", err)
	}
}

// writeFiles writes files (path relative to root: content), mode 0644,
// making their directories.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
