package cgroups

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Defaults and kernel limits used by the conversions.
const (
	defaultCPUPeriod = 100000 // µs, the kernel's and Docker's
	defaultShares    = 1024
	minShares        = 2
	maxShares        = 262144
	defaultCPUWeight = 100 // cgroup v2's default cpu.weight
	defaultIOWeight  = 100 // blkio.weight, io.weight and io.bfq.weight
)

// cpuWeight converts v1 CPU shares to a v2 cpu.weight with runc's formula,
// 1 + ((shares-2)*9999)/262142, which maps [2, 262144] onto [1, 10000]
// (1024 shares become 39). Shares outside that range are clamped, as the v1
// kernel does; 0 means unset and gives the kernel's default weight, 100.
func cpuWeight(shares int64) uint64 {
	if shares == 0 {
		return defaultCPUWeight
	}
	s := uint64(min(max(shares, minShares), maxShares))
	return 1 + ((s-2)*9999)/262142
}

// v1Shares is the cpu.shares value: shares, or 1024 when unset.
func v1Shares(shares int64) int64 {
	if shares == 0 {
		return defaultShares
	}
	return shares
}

// cpuQuotaPeriod returns the CFS quota (-1 for unlimited) and period in µs
// that r asks for: NanoCPUs become a quota over Docker's period of 100000.
func cpuQuotaPeriod(r Resources) (quota int64, period uint64) {
	if r.NanoCPUs > 0 {
		return r.NanoCPUs * defaultCPUPeriod / 1e9, defaultCPUPeriod
	}
	quota, period = -1, defaultCPUPeriod
	if r.CPUQuota > 0 {
		quota = r.CPUQuota
	}
	if r.CPUPeriod > 0 {
		period = uint64(r.CPUPeriod)
	}
	return quota, period
}

// cpuMax is the v2 cpu.max line: "QUOTA PERIOD", or "max PERIOD".
func cpuMax(quota int64, period uint64) string {
	if quota <= 0 {
		return fmt.Sprintf("max %d", period)
	}
	return fmt.Sprintf("%d %d", quota, period)
}

// memorySwapTotal is the memory+swap limit in bytes that r asks for, -1
// for unlimited: MemorySwap when set, else Docker's default of twice Memory.
func memorySwapTotal(r Resources) int64 {
	switch {
	case r.Memory <= 0 || r.MemorySwap < 0:
		return -1
	case r.MemorySwap == 0:
		return 2 * r.Memory
	default:
		return r.MemorySwap
	}
}

// memoryMax is memory.max on v2: the limit or "max".
func memoryMax(bytes int64) string {
	if bytes <= 0 {
		return "max"
	}
	return strconv.FormatInt(bytes, 10)
}

// swapMax is v2's memory.swap.max, which limits swap alone: Docker's
// memory+swap total minus the memory limit, or "max".
func swapMax(r Resources) string {
	total := memorySwapTotal(r)
	if total < 0 || r.Memory <= 0 {
		return "max"
	}
	return strconv.FormatInt(total-r.Memory, 10)
}

// v1Bytes is a v1 memory file's value: the limit or -1 for unlimited.
func v1Bytes(bytes int64) string {
	if bytes <= 0 {
		return "-1"
	}
	return strconv.FormatInt(bytes, 10)
}

// pidsMax is pids.max on both versions: the limit or "max".
func pidsMax(limit *int64) string {
	if limit == nil || *limit <= 0 {
		return "max"
	}
	return strconv.FormatInt(*limit, 10)
}

// ioWeight converts a blkio weight, [10, 1000], to a v2 io.weight, [1,
// 10000], with runc's formula 1 + (weight-10)*9999/990; 0 is the default.
func ioWeight(blkio uint16) uint64 {
	if blkio == 0 {
		return defaultIOWeight
	}
	w := uint64(min(max(blkio, 10), 1000))
	return 1 + (w-10)*9999/990
}

// devKey orders and names a device.
type devKey struct{ major, minor int64 }

func (k devKey) String() string { return fmt.Sprintf("%d:%d", k.major, k.minor) }

// ioMaxLines are the lines to write to v2's io.max, one per device, each
// with all four keys ("max" where unset, and for a rate of 0) so that a
// line replaces whatever the device had: "8:0 rbps=1048576 wbps=max
// riops=max wiops=max". Devices in old (io.max as read back) that r no
// longer limits get an all-"max" line.
func ioMaxLines(r Resources, old []devKey) []string {
	type rates struct{ rbps, wbps, riops, wiops string }
	devs := map[devKey]*rates{}
	get := func(d ThrottleDevice) *rates {
		k := devKey{d.Major, d.Minor}
		if devs[k] == nil {
			devs[k] = &rates{"max", "max", "max", "max"}
		}
		return devs[k]
	}
	val := func(rate uint64) string {
		if rate == 0 {
			return "max"
		}
		return strconv.FormatUint(rate, 10)
	}
	for _, d := range r.BlkioDeviceReadBps {
		get(d).rbps = val(d.Rate)
	}
	for _, d := range r.BlkioDeviceWriteBps {
		get(d).wbps = val(d.Rate)
	}
	for _, d := range r.BlkioDeviceReadIOps {
		get(d).riops = val(d.Rate)
	}
	for _, d := range r.BlkioDeviceWriteIOps {
		get(d).wiops = val(d.Rate)
	}
	for _, k := range old {
		if devs[k] == nil {
			devs[k] = &rates{"max", "max", "max", "max"}
		}
	}
	var lines []string
	for _, k := range sortedKeys(devs) {
		v := devs[k]
		lines = append(lines, fmt.Sprintf("%s rbps=%s wbps=%s riops=%s wiops=%s", k, v.rbps, v.wbps, v.riops, v.wiops))
	}
	return lines
}

// v1ThrottleLines are the lines for one v1 blkio.throttle.* file, "MAJ:MIN
// RATE", one per device; devices in old that devs no longer has get a rate
// of 0, which removes their limit.
func v1ThrottleLines(devs []ThrottleDevice, old []devKey) []string {
	rates := map[devKey]uint64{}
	for _, k := range old {
		rates[k] = 0
	}
	for _, d := range devs {
		rates[devKey{d.Major, d.Minor}] = d.Rate
	}
	var lines []string
	for _, k := range sortedKeys(rates) {
		lines = append(lines, fmt.Sprintf("%s %d", k, rates[k]))
	}
	return lines
}

// parseDevKeys reads the devices named at the start of each line of an
// io.max or blkio.throttle.* file.
func parseDevKeys(content string) []devKey {
	var out []devKey
	for _, line := range splitLines(content) {
		var k devKey
		if _, err := fmt.Sscanf(line, "%d:%d", &k.major, &k.minor); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// parseIOStat sums rbytes and wbytes over io.stat's devices ("8:0
// rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0").
func parseIOStat(content string) (read, written uint64) {
	for _, line := range splitLines(content) {
		for _, kv := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "rbytes":
				read += n
			case "wbytes":
				written += n
			}
		}
	}
	return read, written
}

// parseBlkioBytes sums a v1 blkio io_service_bytes file's "MAJ:MIN Read N"
// and "MAJ:MIN Write N" lines.
func parseBlkioBytes(content string) (read, written uint64) {
	for _, line := range splitLines(content) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			continue
		}
		switch f[1] {
		case "Read":
			read += n
		case "Write":
			written += n
		}
	}
	return read, written
}

// splitLines returns the non-blank lines of s, trimmed.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func sortedKeys[V any](m map[devKey]V) []devKey {
	keys := make([]devKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].major != keys[j].major {
			return keys[i].major < keys[j].major
		}
		return keys[i].minor < keys[j].minor
	})
	return keys
}
