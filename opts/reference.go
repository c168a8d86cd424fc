package opts

import "github.com/distribution/reference"

// NormalizeImage parses an image reference as Docker does: "busybox" is
// docker.io/library/busybox:latest (a name without tag or digest gets
// ":latest").
func NormalizeImage(ref string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, err
	}
	return reference.TagNameOnly(named), nil
}

// FamiliarImage is how Docker shows a fully qualified name
// (docker.io/library/busybox:latest is busybox:latest); a name that does
// not parse is returned as it is.
func FamiliarImage(full string) string {
	named, err := reference.ParseNormalizedNamed(full)
	if err != nil {
		return full
	}
	return reference.FamiliarString(named)
}
