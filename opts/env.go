package opts

import (
	"errors"
	"io"
	"os"
	"strings"

	"github.com/docker/cli/pkg/kvfile"
)

// ParseEnvFile reads an --env-file as the docker CLI does (its kvfile
// package): KEY=VALUE lines, comments and blank lines skipped, a KEY
// alone taken from lookup (and dropped when lookup has none); a line
// without a name, a name with whitespace or bytes that are not UTF-8 are
// refused with docker's message, "invalid env file (PATH): ...".
func ParseEnvFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	return kvfile.Parse(path, lookup)
}

// ParseEnv reads env-file content from r, as ParseEnvFile.
func ParseEnv(r io.Reader, lookup func(string) (string, bool)) ([]string, error) {
	return kvfile.ParseFromReader(r, lookup)
}

// ValidateEnv checks one -e value or API Env entry as Docker does: it
// needs a name ("=x" and "" are refused). A name alone takes its value
// from lookup, when lookup (may be nil) has one.
func ValidateEnv(val string, lookup func(string) (string, bool)) (string, error) {
	k, _, ok := strings.Cut(val, "=")
	if k == "" {
		return "", errors.New("invalid environment variable: " + val)
	}
	if ok || lookup == nil {
		return val, nil
	}
	if v, found := lookup(k); found {
		return k + "=" + v, nil
	}
	return val, nil
}

// LookupEnv is the CLI's lookup: the caller's environment.
var LookupEnv = os.LookupEnv
