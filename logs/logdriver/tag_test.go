package logdriver

import (
	"strings"
	"testing"
)

func TestTag(t *testing.T) {
	info := Info{
		ContainerID:         strings.Repeat("0123456789abcdef", 4),
		ContainerName:       "/web",
		ContainerEntrypoint: "/bin/sh",
		ContainerArgs:       []string{"-c", "echo hi"},
		ContainerImageID:    "sha256:" + strings.Repeat("fedcba9876543210", 4),
		ContainerImageName:  "busybox:latest",
		ContainerLabels:     map[string]string{"app": "shop"},
	}
	tests := []struct{ tmpl, def, want string }{
		{"", "{{.ID}}", "0123456789ab"},
		{"", "", ""},
		{"{{.FullID}}", "", info.ContainerID},
		{"{{.Name}}", "", "web"},
		{"{{.ImageID}}", "", "fedcba987654"},
		{"{{.ImageFullID}}", "", info.ContainerImageID},
		{"{{.ImageName}}/{{.Name}}/{{.ID}}", "", "busybox:latest/web/0123456789ab"},
		{"{{.Command}}", "", "/bin/sh -c echo hi"},
		{"{{.DaemonName}}", "", "skiff"},
		{`{{index .ContainerLabels "app"}}`, "", "shop"},
		{"{{upper .Name}}-{{truncate .FullID 4}}", "", "WEB-0123"},
		{"plain", "{{.ID}}", "plain"},
	}
	for _, tt := range tests {
		i := info
		i.Config = map[string]string{"tag": tt.tmpl}
		got, err := i.Tag(tt.def)
		if err != nil || got != tt.want {
			t.Errorf("Tag(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
	i := info
	i.Config = map[string]string{"tag": "{{.Nope}}"}
	if _, err := i.Tag(""); err == nil {
		t.Error("an unknown field: want an error")
	}
	i.DaemonName = "docker"
	i.Config = map[string]string{"tag": "{{.DaemonName}}"}
	if got, _ := i.Tag(""); got != "docker" {
		t.Errorf("DaemonName set: %q", got)
	}
}

func TestExtraAttributes(t *testing.T) {
	info := Info{
		Config:          map[string]string{"labels": "a,missing", "labels-regex": "^b", "env": "X", "env-regex": "^Y"},
		ContainerLabels: map[string]string{"a": "1", "bee": "2", "c": "3"},
		ContainerEnv:    []string{"X=x", "YES=y", "Z=z", "bad"},
	}
	got, err := info.ExtraAttributes(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "1", "bee": "2", "X": "x", "YES": "y"}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
