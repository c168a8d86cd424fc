package opts

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestParseFilters(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string][]string
		wantErr bool
	}{
		{name: "empty", in: "", want: map[string][]string{}},
		{name: "empty object", in: "{}", want: map[string][]string{}},
		{name: "map form", in: `{"status":{"exited":true}}`, want: map[string][]string{"status": {"exited"}}},
		{
			name: "map form, several keys and values",
			in:   `{"status":{"exited":true,"created":true},"label":{"a=b":true}}`,
			want: map[string][]string{"status": {"created", "exited"}, "label": {"a=b"}},
		},
		{name: "map form, false values are dropped", in: `{"status":{"exited":false,"running":true}}`, want: map[string][]string{"status": {"running"}}},
		{name: "legacy list form", in: `{"status":["exited"]}`, want: map[string][]string{"status": {"exited"}}},
		{
			name: "legacy list form, several",
			in:   `{"status":["exited","created"],"name":["web"]}`,
			want: map[string][]string{"status": {"created", "exited"}, "name": {"web"}},
		},
		{name: "bad JSON", in: `{"status":`, wantErr: true},
		{name: "not an object", in: `["status"]`, wantErr: true},
		{name: "wrong value type", in: `{"status":"exited"}`, wantErr: true},
		{name: "wrong element type", in: `{"status":[1]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFilters(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseFilters(%s) = %v, want an error", tt.in, got)
				}
				if !strings.HasPrefix(err.Error(), "invalid filter: ") {
					t.Errorf("error = %q, want it to start with %q", err, "invalid filter: ")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFilters(%s): %v", tt.in, err)
			}
			for _, vs := range got {
				sort.Strings(vs) // map order
			}
			if !reflect.DeepEqual(map[string][]string(got), tt.want) {
				t.Errorf("ParseFilters(%s) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
