package cgroups

import (
	"reflect"
	"strings"
	"testing"
)

const mib = 1024 * 1024

func i64(v int64) *int64 { return &v }

func TestCPUWeight(t *testing.T) {
	for _, tc := range []struct {
		shares int64
		want   uint64
	}{
		{0, 100}, // unset: the kernel's default weight
		{1, 1},   // clamped to 2, as v1 does
		{2, 1},
		{100, 4},
		{512, 20},
		{1024, 39}, // runc's formula does not map 1024 to 100
		{2048, 79},
		{262144, 10000},
		{1 << 20, 10000},
	} {
		if got := cpuWeight(tc.shares); got != tc.want {
			t.Errorf("cpuWeight(%d) = %d, want %d", tc.shares, got, tc.want)
		}
	}
}

func TestCPUQuotaPeriodAndMax(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      Resources
		quota  int64
		period uint64
		max    string
	}{
		{"unlimited", Resources{}, -1, 100000, "max 100000"},
		{"cpus 1.5", Resources{NanoCPUs: 1.5e9}, 150000, 100000, "150000 100000"},
		{"cpus 0.01", Resources{NanoCPUs: 1e7}, 1000, 100000, "1000 100000"},
		{"cpus 2", Resources{NanoCPUs: 2e9}, 200000, 100000, "200000 100000"},
		{"quota only", Resources{CPUQuota: 50000}, 50000, 100000, "50000 100000"},
		{"quota and period", Resources{CPUQuota: 25000, CPUPeriod: 50000}, 25000, 50000, "25000 50000"},
		{"period only", Resources{CPUPeriod: 50000}, -1, 50000, "max 50000"},
		{"quota -1", Resources{CPUQuota: -1}, -1, 100000, "max 100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, p := cpuQuotaPeriod(tc.r)
			if q != tc.quota || p != tc.period {
				t.Errorf("cpuQuotaPeriod = %d, %d; want %d, %d", q, p, tc.quota, tc.period)
			}
			if got := cpuMax(q, p); got != tc.max {
				t.Errorf("cpuMax = %q, want %q", got, tc.max)
			}
		})
	}
}

func TestMemoryConversions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		r         Resources
		memoryMax string // v2 memory.max
		swapMax   string // v2 memory.swap.max
		memsw     int64  // v1 memory.memsw.limit_in_bytes
	}{
		{"unlimited", Resources{}, "max", "max", -1},
		{"memory, default swap", Resources{Memory: 64 * mib}, "67108864", "67108864", 128 * mib},
		{"no swap", Resources{Memory: 64 * mib, MemorySwap: 64 * mib}, "67108864", "0", 64 * mib},
		{"some swap", Resources{Memory: 64 * mib, MemorySwap: 100 * mib}, "67108864", "37748736", 100 * mib},
		{"unlimited swap", Resources{Memory: 64 * mib, MemorySwap: -1}, "67108864", "max", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := memoryMax(tc.r.Memory); got != tc.memoryMax {
				t.Errorf("memoryMax = %q, want %q", got, tc.memoryMax)
			}
			if got := swapMax(tc.r); got != tc.swapMax {
				t.Errorf("swapMax = %q, want %q", got, tc.swapMax)
			}
			if got := memorySwapTotal(tc.r); got != tc.memsw {
				t.Errorf("memorySwapTotal = %d, want %d", got, tc.memsw)
			}
		})
	}
	if got := v1Bytes(0); got != "-1" {
		t.Errorf("v1Bytes(0) = %q", got)
	}
	if got := v1Bytes(32 * mib); got != "33554432" {
		t.Errorf("v1Bytes(32MiB) = %q", got)
	}
}

func TestPidsMax(t *testing.T) {
	for _, tc := range []struct {
		limit *int64
		want  string
	}{
		{nil, "max"}, {i64(0), "max"}, {i64(-1), "max"}, {i64(10), "10"},
	} {
		if got := pidsMax(tc.limit); got != tc.want {
			t.Errorf("pidsMax(%v) = %q, want %q", tc.limit, got, tc.want)
		}
	}
}

func TestIOWeight(t *testing.T) {
	for _, tc := range []struct {
		blkio uint16
		want  uint64
	}{
		{0, 100}, {10, 1}, {500, 4950}, {1000, 10000},
	} {
		if got := ioWeight(tc.blkio); got != tc.want {
			t.Errorf("ioWeight(%d) = %d, want %d", tc.blkio, got, tc.want)
		}
	}
}

func TestIOMaxLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Resources
		old  []devKey
		want []string
	}{
		{"none", Resources{}, nil, nil},
		{"one key", Resources{BlkioDeviceReadBps: []ThrottleDevice{{8, 0, 1048576}}}, nil,
			[]string{"8:0 rbps=1048576 wbps=max riops=max wiops=max"}},
		{"all keys, two devices, sorted", Resources{
			BlkioDeviceReadBps:   []ThrottleDevice{{253, 0, 1}, {8, 16, 5}},
			BlkioDeviceWriteBps:  []ThrottleDevice{{253, 0, 2}},
			BlkioDeviceReadIOps:  []ThrottleDevice{{253, 0, 3}},
			BlkioDeviceWriteIOps: []ThrottleDevice{{253, 0, 4}},
		}, nil, []string{
			"8:16 rbps=5 wbps=max riops=max wiops=max",
			"253:0 rbps=1 wbps=2 riops=3 wiops=4",
		}},
		{"rate 0 is no limit", Resources{BlkioDeviceWriteIOps: []ThrottleDevice{{8, 0, 0}}}, nil,
			[]string{"8:0 rbps=max wbps=max riops=max wiops=max"}},
		{"dropped device reset", Resources{BlkioDeviceWriteBps: []ThrottleDevice{{8, 0, 7}}}, []devKey{{8, 0}, {8, 16}},
			[]string{"8:0 rbps=max wbps=7 riops=max wiops=max", "8:16 rbps=max wbps=max riops=max wiops=max"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ioMaxLines(tc.r, tc.old); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ioMaxLines = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestV1ThrottleLines(t *testing.T) {
	got := v1ThrottleLines([]ThrottleDevice{{253, 0, 1048576}, {8, 0, 10}}, []devKey{{7, 1}, {8, 0}})
	want := []string{"7:1 0", "8:0 10", "253:0 1048576"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("v1ThrottleLines = %q, want %q", got, want)
	}
	if got := v1ThrottleLines(nil, nil); got != nil {
		t.Errorf("v1ThrottleLines(nil) = %q", got)
	}
}

func TestParsers(t *testing.T) {
	keys := parseDevKeys("8:0 rbps=1 wbps=max riops=max wiops=max\n253:16 1048576\n\n")
	if want := []devKey{{8, 0}, {253, 16}}; !reflect.DeepEqual(keys, want) {
		t.Errorf("parseDevKeys = %v, want %v", keys, want)
	}
	r, w := parseIOStat("8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n")
	if r != 101 || w != 202 {
		t.Errorf("parseIOStat = %d, %d", r, w)
	}
	r, w = parseBlkioBytes("8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Total 300\n253:0 Read 1\n253:0 Write 2\nTotal 303\n")
	if r != 101 || w != 202 {
		t.Errorf("parseBlkioBytes = %d, %d", r, w)
	}
}

func TestNeeds(t *testing.T) {
	r := Resources{Memory: 64 * mib, MemorySwap: 128 * mib, NanoCPUs: 1e9, CPUShares: 512, PidsLimit: i64(5),
		BlkioDeviceWriteBps: []ThrottleDevice{{8, 0, 1}}, CpusetMems: "0"}
	var got []string
	for _, n := range needs(r) {
		got = append(got, n.controller+"="+n.flag)
	}
	want := "memory=--memory cpu=--cpus cpuset=--cpuset-mems pids=--pids-limit io=--device-write-bps"
	if strings.Join(got, " ") != want {
		t.Errorf("needs = %q, want %q", strings.Join(got, " "), want)
	}
	if n := needs(Resources{PidsLimit: i64(-1), CPUQuota: -1, MemorySwap: -1}); len(n) != 0 {
		t.Errorf("unlimited values need %v", n)
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "../x", "a\x00"} {
		if checkName(name) == nil {
			t.Errorf("checkName(%q) accepted", name)
		}
	}
	if err := checkName("3f9a0c"); err != nil {
		t.Error(err)
	}
}
