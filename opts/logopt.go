package opts

import (
	"fmt"
	"strings"
)

// ParseLogOpts reads --log-opt values as the docker CLI does: KEY=VALUE,
// a KEY alone meaning an empty value, the last of a repeated key winning;
// the driver checks the keys and values. The none driver takes no
// options ("invalid logging opts for driver none").
func ParseLogOpts(driver string, values []string) (map[string]string, error) {
	if driver == "none" && len(values) > 0 {
		return nil, fmt.Errorf("invalid logging opts for driver %s", driver)
	}
	if len(values) == 0 {
		return nil, nil
	}
	return KeyValues(values), nil
}

// KeyValues is docker's ConvertKVStringsToMap: KEY=VALUE strings as a
// map, a KEY alone mapped to "".
func KeyValues(values []string) map[string]string {
	out := make(map[string]string, len(values))
	for _, v := range values {
		k, val, _ := strings.Cut(v, "=")
		out[k] = val
	}
	return out
}
