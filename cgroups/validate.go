package cgroups

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// minMemory is Docker's smallest memory limit, 6 MiB ("to account for
// overhead during startup"); docker 20.10 and later say "6MB".
const minMemory = 6 * 1024 * 1024

// Validate checks r with the Docker daemon's rules and returns the daemon's
// error message where it has one ("Minimum memory limit allowed is 6MB").
// It checks --cpus against the CPUs this process may run on and
// --cpuset-cpus/--cpuset-mems against the online CPUs and memory nodes. It
// does not check that the host's cgroups can apply r; Create does.
func Validate(r Resources) error {
	return validate(r, hostInfo{
		numCPU: runtime.NumCPU(),
		cpus:   readOnline("/sys/devices/system/cpu/online", strconv.Itoa(runtime.NumCPU()-1)),
		mems:   readOnline("/sys/devices/system/node/online", "0"),
	})
}

// hostInfo is what validate compares against.
type hostInfo struct {
	numCPU int    // CPUs for --cpus
	cpus   string // online CPUs, as "0-3"
	mems   string // online memory nodes, as "0"
}

// readOnline reads a sysfs list such as "0-3"; a missing file means the
// single range "0-last".
func readOnline(path, last string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if last == "0" {
			return "0"
		}
		return "0-" + last
	}
	return strings.TrimSpace(string(b))
}

func validate(r Resources, h hostInfo) error {
	// Memory, in the order of moby's verifyPlatformContainerResources.
	if r.Memory != 0 && r.Memory < minMemory {
		return errors.New("Minimum memory limit allowed is 6MB")
	}
	if r.Memory > 0 && r.MemorySwap > 0 && r.MemorySwap < r.Memory {
		return errors.New("Minimum memoryswap limit should be larger than memory limit, see usage")
	}
	if r.Memory == 0 && r.MemorySwap > 0 {
		return errors.New("You should always set the Memory limit when using Memoryswap limit, see usage")
	}
	if r.MemoryReservation > 0 && r.MemoryReservation < minMemory {
		return errors.New("Minimum memory reservation allowed is 6MB")
	}
	if r.Memory > 0 && r.MemoryReservation > 0 && r.Memory < r.MemoryReservation {
		return errors.New("Minimum memory limit can not be less than memory reservation limit, see usage")
	}

	// CPU.
	if r.NanoCPUs > 0 && r.CPUPeriod > 0 {
		return errors.New("Conflicting options: Nano CPUs and CPU Period cannot both be set")
	}
	if r.NanoCPUs > 0 && r.CPUQuota > 0 {
		return errors.New("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
	}
	if r.NanoCPUs != 0 && (r.NanoCPUs < 0 || r.NanoCPUs > int64(h.numCPU)*1e9) {
		// Docker 28 lower-cased the first word of this message.
		return fmt.Errorf("range of CPUs is from 0.01 to %[1]d.00, as there are only %[1]d CPUs available", h.numCPU)
	}
	if r.CPUShares < 0 {
		return fmt.Errorf("invalid CPU shares (%d): value must be a positive integer", r.CPUShares)
	}
	if r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000) {
		return errors.New("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	}
	if r.CPUQuota > 0 && r.CPUQuota < 1000 {
		return errors.New("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}

	// Cpuset.
	if err := cpusetAvailable(r.CpusetCpus, h.cpus); err != nil {
		if errors.Is(err, errUnavailable) {
			return fmt.Errorf("Requested CPUs are not available - requested %s, available: %s", r.CpusetCpus, h.cpus)
		}
		return fmt.Errorf("Invalid value %s for cpuset cpus: %w", r.CpusetCpus, err)
	}
	if err := cpusetAvailable(r.CpusetMems, h.mems); err != nil {
		if errors.Is(err, errUnavailable) {
			return fmt.Errorf("Requested memory nodes are not available - requested %s, available: %s", r.CpusetMems, h.mems)
		}
		return fmt.Errorf("Invalid value %s for cpuset mems: %w", r.CpusetMems, err)
	}

	// Block I/O.
	if r.BlkioWeight > 0 && (r.BlkioWeight < 10 || r.BlkioWeight > 1000) {
		return errors.New("Range of blkio weight is from 10 to 1000")
	}
	for _, list := range [][]ThrottleDevice{r.BlkioDeviceReadBps, r.BlkioDeviceWriteBps, r.BlkioDeviceReadIOps, r.BlkioDeviceWriteIOps} {
		for _, d := range list {
			if d.Major < 0 || d.Minor < 0 {
				return fmt.Errorf("invalid block device %d:%d", d.Major, d.Minor)
			}
		}
	}
	return nil
}

// errUnavailable marks a well-formed cpuset list that names a CPU or node
// the host lacks.
var errUnavailable = errors.New("not available")

// cpusetAvailable checks that every entry of the list requested is in the
// list available. Like Docker it refuses entries above the larger of 8192
// and the highest available one (CVE-2018-20699).
func cpusetAvailable(requested, available string) error {
	if requested == "" {
		return nil
	}
	avail, err := parseList(available, 0)
	if err != nil {
		return err
	}
	limit := 8192
	for k := range avail {
		limit = max(limit, k)
	}
	req, err := parseList(requested, limit)
	if err != nil {
		return err
	}
	for k := range req {
		if !avail[k] {
			return errUnavailable
		}
	}
	return nil
}

// parseList parses a cpuset list such as "0-2,4" with Docker's messages;
// limit > 0 caps the values.
func parseList(val string, limit int) (map[int]bool, error) {
	out := map[int]bool{}
	if val == "" {
		return out, nil
	}
	bad := fmt.Errorf("invalid format: %s", val)
	check := func(v int) error {
		if limit != 0 && v > limit {
			return fmt.Errorf("value of out range, maximum is %d", limit)
		}
		return nil
	}
	for _, part := range strings.Split(val, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, bad
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, bad
			}
		}
		if err := check(b); err != nil {
			return nil, err
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}
