package cgroups

import "testing"

func TestValidate(t *testing.T) {
	host := hostInfo{numCPU: 2, cpus: "0-1", mems: "0"}
	for _, tc := range []struct {
		name string
		r    Resources
		want string // "" for valid
	}{
		{"empty", Resources{}, ""},
		{"everything valid", Resources{Memory: 64 * mib, MemorySwap: 128 * mib, MemoryReservation: 32 * mib,
			NanoCPUs: 1.5e9, CPUShares: 512, CpusetCpus: "0-1", CpusetMems: "0", PidsLimit: i64(10), BlkioWeight: 500,
			BlkioDeviceReadBps: []ThrottleDevice{{8, 0, 1}}}, ""},
		{"memory 6MiB is the minimum", Resources{Memory: 6 * mib}, ""},
		{"memory below 6MiB", Resources{Memory: 4 * mib}, "Minimum memory limit allowed is 6MB"},
		{"negative memory", Resources{Memory: -5}, "Minimum memory limit allowed is 6MB"},
		{"swap below memory", Resources{Memory: 64 * mib, MemorySwap: 32 * mib}, "Minimum memoryswap limit should be larger than memory limit, see usage"},
		{"swap equal to memory", Resources{Memory: 64 * mib, MemorySwap: 64 * mib}, ""},
		{"swap unlimited", Resources{Memory: 64 * mib, MemorySwap: -1}, ""},
		{"swap without memory", Resources{MemorySwap: 64 * mib}, "You should always set the Memory limit when using Memoryswap limit, see usage"},
		{"reservation below 6MiB", Resources{MemoryReservation: 1 * mib}, "Minimum memory reservation allowed is 6MB"},
		{"reservation above memory", Resources{Memory: 32 * mib, MemoryReservation: 64 * mib}, "Minimum memory limit can not be less than memory reservation limit, see usage"},
		{"cpus and period", Resources{NanoCPUs: 1e9, CPUPeriod: 100000}, "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
		{"cpus and quota", Resources{NanoCPUs: 1e9, CPUQuota: 50000}, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
		{"cpus above the host's", Resources{NanoCPUs: 3e9}, "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
		{"cpus negative", Resources{NanoCPUs: -1}, "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
		{"cpus all of the host's", Resources{NanoCPUs: 2e9}, ""},
		{"negative shares", Resources{CPUShares: -2}, "invalid CPU shares (-2): value must be a positive integer"},
		{"period too small", Resources{CPUPeriod: 999}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
		{"period too large", Resources{CPUPeriod: 1000001}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
		{"quota too small", Resources{CPUQuota: 999}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
		{"quota -1", Resources{CPUQuota: -1}, ""},
		{"cpuset cpu missing", Resources{CpusetCpus: "0,3"}, "Requested CPUs are not available - requested 0,3, available: 0-1"},
		{"cpuset cpus bad", Resources{CpusetCpus: "1-0"}, "Invalid value 1-0 for cpuset cpus: invalid format: 1-0"},
		{"cpuset cpus huge", Resources{CpusetCpus: "0-9223372036854775807"}, "Invalid value 0-9223372036854775807 for cpuset cpus: value of out range, maximum is 8192"},
		{"cpuset mems missing", Resources{CpusetMems: "1"}, "Requested memory nodes are not available - requested 1, available: 0"},
		{"cpuset mems bad", Resources{CpusetMems: "x"}, "Invalid value x for cpuset mems: invalid format: x"},
		{"blkio weight low", Resources{BlkioWeight: 9}, "Range of blkio weight is from 10 to 1000"},
		{"blkio weight high", Resources{BlkioWeight: 1001}, "Range of blkio weight is from 10 to 1000"},
		{"bad device", Resources{BlkioDeviceWriteIOps: []ThrottleDevice{{-1, 0, 1}}}, "invalid block device -1:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(tc.r, host)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestValidateHost runs the exported Validate against this machine.
func TestValidateHost(t *testing.T) {
	if err := Validate(Resources{NanoCPUs: 1e7, CpusetCpus: "0", CpusetMems: "0"}); err != nil {
		t.Fatal(err)
	}
	if err := Validate(Resources{NanoCPUs: 1e9 * 100000}); err == nil {
		t.Fatal("100000 CPUs accepted")
	}
}
