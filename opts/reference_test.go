package opts

import "testing"

const hexC = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestNormalizeImage(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "docker.io/busybox", want: "docker.io/library/busybox:latest"},
		{in: "index.docker.io/library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "someone/app:v1", want: "docker.io/someone/app:v1"},
		{in: "127.0.0.1:5000/x", want: "127.0.0.1:5000/x:latest"},
		{in: "127.0.0.1:5000/x:tag", want: "127.0.0.1:5000/x:tag"},
		{in: "localhost:5000/a/b", want: "localhost:5000/a/b:latest"},
		{in: "localhost/x", want: "localhost/x:latest"},
		{in: "[::1]:5000/x", want: "[::1]:5000/x:latest"},
		{in: "quay.io/org/img:1.0", want: "quay.io/org/img:1.0"},
		// A digest reference keeps its digest and gets no tag.
		{in: "busybox@sha256:" + hexC, want: "docker.io/library/busybox@sha256:" + hexC},
		{in: "127.0.0.1:5000/x@sha256:" + hexC, want: "127.0.0.1:5000/x@sha256:" + hexC},
		{in: "busybox:1.36@sha256:" + hexC, want: "docker.io/library/busybox:1.36@sha256:" + hexC},
		{in: "", wantErr: true},
		{in: "BusyBox", wantErr: true},
		{in: "busybox:", wantErr: true},
		{in: "busybox:bad tag", wantErr: true},
		{in: "busybox@sha256:short", wantErr: true},
		{in: "a//b", wantErr: true},
		{in: "-leading-dash", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeImage(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NormalizeImage(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeImage(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("NormalizeImage(%q) = %q, want %q", tt.in, got.String(), tt.want)
			}
		})
	}
}

func TestFamiliarImage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"docker.io/library/busybox:latest", "busybox:latest"},
		{"docker.io/library/busybox", "busybox"},
		{"docker.io/someone/app:v1", "someone/app:v1"},
		{"127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"},
		{"quay.io/org/img:1.0", "quay.io/org/img:1.0"},
		{"docker.io/library/busybox@sha256:" + hexC, "busybox@sha256:" + hexC},
		{"busybox:latest", "busybox:latest"},
		// Not a reference: returned as it is.
		{"Not A Reference", "Not A Reference"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := FamiliarImage(tt.in); got != tt.want {
			t.Errorf("FamiliarImage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
