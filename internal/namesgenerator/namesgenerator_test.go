package namesgenerator

import (
	"regexp"
	"testing"
)

func TestGetRandomName(t *testing.T) {
	tests := []struct {
		retry int
		want  *regexp.Regexp
	}{
		{0, regexp.MustCompile(`^[a-z]+_[a-z]+$`)},
		{1, regexp.MustCompile(`^[a-z]+_[a-z]+[0-9]$`)},
		{5, regexp.MustCompile(`^[a-z]+_[a-z]+[0-9]$`)},
	}
	for _, tt := range tests {
		for range 100 {
			name := GetRandomName(tt.retry)
			if !tt.want.MatchString(name) {
				t.Fatalf("GetRandomName(%d) = %q, want %v", tt.retry, name, tt.want)
			}
			if name == "boring_wozniak" {
				t.Fatalf("GetRandomName(%d) = %q: Steve Wozniak is not boring", tt.retry, name)
			}
		}
	}
}
