package opts

import (
	"testing"
	"time"
)

func TestParseUnixTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "0", want: time.Time{}},
		{in: "1700000000", want: time.Unix(1700000000, 0)},
		{in: "1700000000.5", want: time.Unix(1700000000, 500000000)},
		{in: "1700000000.000000001", want: time.Unix(1700000000, 1)},
		{in: "1700000000.123456789999", want: time.Unix(1700000000, 123456789)}, // beyond ns is dropped
		{in: "1700000000.", want: time.Unix(1700000000, 0)},
		{in: "1", want: time.Unix(1, 0)},
		{in: "abc", wantErr: true},
		{in: "10m", wantErr: true},
		{in: "2024-01-02T03:04:05Z", wantErr: true},
		{in: ".5", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseUnixTime(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseUnixTime(%q) = %v, want an error", tt.in, got)
			} else if want := `invalid time "` + tt.in + `"`; err.Error() != want {
				t.Errorf("ParseUnixTime(%q) error = %q, want %q", tt.in, err, want)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseUnixTime(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() {
			t.Errorf("ParseUnixTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
