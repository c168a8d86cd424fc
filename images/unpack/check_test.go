package unpack

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	type ent struct {
		typ        byte
		name, link string
	}
	tests := []struct {
		name    string
		entries []ent
		want    string
	}{
		{"fine", []ent{{tar.TypeReg, "a", ""}, {tar.TypeLink, "b", "a"}, {tar.TypeLink, "c", "/a"}}, ""},
		{"link to a later file", []ent{{tar.TypeLink, "b", "a"}, {tar.TypeReg, "a", ""}}, `entry "b" is a hard link to "a", which is not in the layer`},
		{"link outside", []ent{{tar.TypeLink, "x", "../../etc/shadow"}}, `entry "x" is a hard link to "../../etc/shadow", outside the layer`},
		{"whiteout of ..", []ent{{tar.TypeReg, "d/.wh...", ""}}, `entry "d/.wh..." is a whiteout of ".."`},
		{"twice", []ent{{tar.TypeSymlink, "a", "/x"}, {tar.TypeReg, "a", ""}}, `entry "a" appears twice in the layer`},
		{"opaque whiteout", []ent{{tar.TypeReg, "d/.wh..wh..opq", ""}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range tt.entries {
				if err := tw.WriteHeader(&tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: 0o644}); err != nil {
					t.Fatal(err)
				}
			}
			tw.Close()
			if got := Check(&buf); got != tt.want {
				t.Errorf("Check = %q, want %q", got, tt.want)
			}
		})
	}
	if got := Check(strings.NewReader(strings.Repeat("not a tar ", 60))); got == "" {
		t.Error("Check of garbage found nothing")
	}
}

func TestEscapes(t *testing.T) {
	for name, want := range map[string]bool{
		"a/b": false, "/etc/passwd": false, "a/../b": false, "../x": true, "a/../../x": true, "/../x": true, "./a/./..": false,
	} {
		if got := escapes(name); got != want {
			t.Errorf("escapes(%q) = %v, want %v", name, got, want)
		}
	}
}
