package images

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
)

const (
	hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hexB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hexC = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestIsInsecure(t *testing.T) {
	tests := []struct {
		domain   string
		insecure []string
		want     bool
	}{
		{"localhost", nil, true},
		{"localhost:5000", nil, true},
		{"127.0.0.1", nil, true},
		{"127.0.0.1:5000", nil, true},
		{"127.1.2.3:5000", nil, true},
		{"[::1]:5000", nil, true},
		{"::1", nil, true},
		{"docker.io", nil, false},
		{"10.0.0.1", nil, false},
		{"10.0.0.1:5000", nil, false},
		{"localhost.example.com:5000", nil, false},
		{"10.0.0.1:5000", []string{"10.0.0.1:5000"}, true},
		{"10.0.0.1:5000", []string{"10.0.0.1"}, true}, // a bare host covers every port
		{"10.0.0.1:5001", []string{"10.0.0.1:5000"}, false},
		{"10.0.0.1", []string{"10.0.0.1:5000"}, false},
		{"10.0.0.1:5000", []string{"10.0.0.0/8"}, true},
		{"10.255.0.1", []string{"10.0.0.0/8"}, true},
		{"11.0.0.1:5000", []string{"10.0.0.0/8"}, false},
		{"192.168.1.20:5000", []string{"10.0.0.0/8", "192.168.1.0/24"}, true},
		{"[fd00::5]:5000", []string{"fd00::/8"}, true},
		{"myregistry.lan:5000", []string{"myregistry.lan:5000"}, true},
		{"myregistry.lan:5000", []string{"myregistry.lan"}, true},
		{"myregistry.lan", []string{"myregistry.lan:5000"}, false},
		{"other.lan:5000", []string{"myregistry.lan:5000"}, false},
		// A CIDR does not match a host name.
		{"myregistry.lan:5000", []string{"0.0.0.0/0"}, false},
		{"docker.io", []string{"not a cidr/99"}, false},
	}
	for _, tt := range tests {
		if got := isInsecure(tt.domain, tt.insecure); got != tt.want {
			t.Errorf("isInsecure(%q, %q) = %v, want %v", tt.domain, tt.insecure, got, tt.want)
		}
	}
}

func hash(t *testing.T, h string) v1.Hash {
	t.Helper()
	v, err := v1.NewHash("sha256:" + h)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestChainID(t *testing.T) {
	// OCI: ChainID(L0) = DiffID(L0); ChainID(L0|L1) = SHA256(ChainID(L0) + " " + DiffID(L1)).
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	c1 := hexA
	c2 := sum("sha256:" + hexA + " sha256:" + hexB)
	c3 := sum("sha256:" + c2 + " sha256:" + hexC)
	tests := []struct {
		name   string
		parent string
		diff   string
		want   string
	}{
		{"single layer is its diff id", "", hexA, c1},
		{"two layers", c1, hexB, c2},
		{"three layers", c2, hexC, c3},
	}
	for _, tt := range tests {
		got := chainID(tt.parent, hash(t, tt.diff))
		if got != tt.want {
			t.Errorf("%s: chainID(%.12s, %.12s) = %s, want %s", tt.name, tt.parent, tt.diff, got, tt.want)
		}
		if len(got) != 64 || strings.HasPrefix(got, "sha256:") {
			t.Errorf("%s: chainID = %q, want 64 bare hex digits", tt.name, got)
		}
	}
	// Order matters.
	if chainID(hexB, hash(t, hexA)) == c2 {
		t.Error("chainID(B, A) == chainID(A, B)")
	}
}

func TestLooksLikeID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"abcd", true},
		{"0123456789ab", true},
		{hexC, true},
		{"abc", false},         // too short
		{hexC + "0", false},    // too long
		{"ABCD", false},        // upper case is not an ID
		{"abcg", false},        // not hex
		{"busybox", false},     // a name
		{"sha256:abcd", false}, // callers strip the prefix
		{"dead:beef", false},   // a tag
		{"", false},
		{"café", false},
	}
	for _, tt := range tests {
		if got := looksLikeID(tt.in); got != tt.want {
			t.Errorf("looksLikeID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestImageRepoTagsAndDigests(t *testing.T) {
	dA := digest.Digest("sha256:" + hexA)
	dB := digest.Digest("sha256:" + hexB)
	tests := []struct {
		name        string
		img         Image
		wantTags    []string
		wantDigests []string
	}{
		{
			name:        "untagged, never pulled",
			img:         Image{},
			wantTags:    []string{},
			wantDigests: nil,
		},
		{
			name:        "one name, one digest",
			img:         Image{Names: []string{"docker.io/library/busybox:latest"}, Digests: []digest.Digest{dA}},
			wantTags:    []string{"busybox:latest"},
			wantDigests: []string{"busybox@sha256:" + hexA},
		},
		{
			name: "two tags of one repository share the digest line",
			img: Image{
				Names:   []string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"},
				Digests: []digest.Digest{dA},
			},
			wantTags:    []string{"busybox:latest", "busybox:1.36"},
			wantDigests: []string{"busybox@sha256:" + hexA},
		},
		{
			name: "two repositories, two digests",
			img: Image{
				Names:   []string{"127.0.0.1:5000/x:v1", "docker.io/someone/y:v2"},
				Digests: []digest.Digest{dA, dB},
			},
			wantTags: []string{"127.0.0.1:5000/x:v1", "someone/y:v2"},
			wantDigests: []string{
				"127.0.0.1:5000/x@sha256:" + hexA, "127.0.0.1:5000/x@sha256:" + hexB,
				"someone/y@sha256:" + hexA, "someone/y@sha256:" + hexB,
			},
		},
		{
			name: "digest names are not tags",
			img: Image{
				Names:   []string{"docker.io/library/busybox@sha256:" + hexA},
				Digests: []digest.Digest{dA},
			},
			wantTags:    []string{},
			wantDigests: []string{"busybox@sha256:" + hexA},
		},
		{
			name:        "loaded from a tarball: tags but no digest",
			img:         Image{Names: []string{"docker.io/library/app:dev"}},
			wantTags:    []string{"app:dev"},
			wantDigests: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tags := tt.img.RepoTags()
			if tags == nil {
				t.Error("RepoTags() = nil, want a non-nil slice (Docker's API shows [])")
			}
			if !reflect.DeepEqual(tags, tt.wantTags) {
				t.Errorf("RepoTags() = %q, want %q", tags, tt.wantTags)
			}
			if got := tt.img.RepoDigests(); !reflect.DeepEqual(got, tt.wantDigests) {
				t.Errorf("RepoDigests() = %q, want %q", got, tt.wantDigests)
			}
		})
	}
}

func TestHasRepo(t *testing.T) {
	tests := []struct {
		names []string
		repo  string
		want  bool
	}{
		{[]string{"docker.io/library/busybox:latest"}, "docker.io/library/busybox", true},
		{[]string{"docker.io/library/busybox:latest"}, "docker.io/library/alpine", false},
		{[]string{"docker.io/library/alpine:3", "127.0.0.1:5000/busybox:1"}, "127.0.0.1:5000/busybox", true},
		// An image with no names matches any repository.
		{nil, "docker.io/library/busybox", true},
	}
	for _, tt := range tests {
		if got := hasRepo(tt.names, tt.repo); got != tt.want {
			t.Errorf("hasRepo(%q, %q) = %v, want %v", tt.names, tt.repo, got, tt.want)
		}
	}
}
