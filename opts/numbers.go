package opts

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	units "github.com/docker/go-units"
)

// ParseCPUs reads --cpus as the docker CLI does: a rational number of
// CPUs ("1.5", "3/2", "1e-3") that must be a whole number of
// billionths. It returns NanoCPUs. Unlike docker's, a value beyond int64
// is refused (docker's wraps around).
func ParseCPUs(value string) (int64, error) {
	cpu, ok := new(big.Rat).SetString(value)
	if !ok {
		return 0, fmt.Errorf("failed to parse %v as a rational number", value)
	}
	nano := cpu.Mul(cpu, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, errors.New("value is too precise")
	}
	if !nano.Num().IsInt64() {
		return 0, fmt.Errorf("failed to parse %v as a rational number", value)
	}
	return nano.Num().Int64(), nil
}

// ParseSize reads a size flag (--memory, --shm-size, ...) as the docker
// CLI's MemBytes does: go-units' RAMInBytes ("512m", "1g", "1024"), with
// its message, "invalid size: '...'". An empty value is refused too.
func ParseSize(value string) (int64, error) {
	n, err := units.RAMInBytes(value)
	if err != nil {
		return 0, err
	}
	// RAMInBytes multiplies in float64: a size beyond int64 comes back
	// as a wrapped-around number.
	if n < 0 || n == math.MinInt64 {
		return 0, fmt.Errorf("invalid size: '%s'", value)
	}
	return n, nil
}
