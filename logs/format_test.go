package logs_test

import (
	"testing"
	"time"

	"github.com/skiff-dev/skiff/logs"
)

func TestDetails(t *testing.T) {
	tests := []struct {
		attrs map[string]string
		want  string
	}{
		{nil, " "},
		{map[string]string{"tag": "web"}, "tag=web "},
		{map[string]string{"b": "2", "a": "x y", "c=": "&"}, "a=x+y,b=2,c%3D=%26 "},
	}
	for _, tt := range tests {
		if got := logs.Details(tt.attrs); got != tt.want {
			t.Errorf("Details(%v) = %q, want %q", tt.attrs, got, tt.want)
		}
	}
	ts := time.Date(2024, 5, 1, 12, 0, 0, 120000000, time.UTC)
	if got := ts.Format(logs.TimestampFormat); got != "2024-05-01T12:00:00.120000000Z" {
		t.Errorf("timestamp %q", got)
	}
}
