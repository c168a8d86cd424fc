package engine

import (
	"bufio"
	"context"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
)

// systemCPU is the host's total CPU time in nanoseconds (/proc/stat), the
// denominator docker stats divides by.
func systemCPU() uint64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && fields[0] == "cpu" {
			var total uint64
			for _, v := range fields[1:] {
				n, _ := strconv.ParseUint(v, 10, 64)
				total += n
			}
			return total * (1e9 / 100) // USER_HZ is 100 on Linux
		}
	}
	return 0
}

// sample reads one stats sample of the container. The caller holds no lock.
func (e *Engine) sample(c *ctr) container.StatsResponse {
	c.mu.Lock()
	id, name, running, cg := c.rec.ID, c.rec.Name, c.running(), c.rec.Cgroup
	var pidsLimit uint64
	if l := c.rec.HostConfig.PidsLimit; l != nil && *l > 0 {
		pidsLimit = uint64(*l)
	}
	c.mu.Unlock()
	s := container.StatsResponse{ID: id, Name: name, OSType: "linux", Read: time.Now().UTC()}
	if !running || e.cgroupErr != nil {
		return s
	}
	st, err := e.cgroups.Stats(cg)
	if err != nil {
		return s
	}
	s.CPUStats = container.CPUStats{
		CPUUsage:    container.CPUUsage{TotalUsage: st.CPUUsage},
		SystemUsage: systemCPU(),
		OnlineCPUs:  uint32(goruntime.NumCPU()),
	}
	s.MemoryStats = container.MemoryStats{
		Usage: st.MemoryUsage, Limit: st.MemoryLimit,
		Stats: map[string]uint64{"cache": st.MemoryCache, "inactive_file": st.MemoryInactiveFile, "total_inactive_file": st.MemoryInactiveFile},
	}
	if s.MemoryStats.Limit == 0 || s.MemoryStats.Limit > uint64(1)<<62 {
		s.MemoryStats.Limit = hostMemory()
	}
	s.PidsStats = container.PidsStats{Current: st.PidsCurrent, Limit: pidsLimit}
	s.BlkioStats = container.BlkioStats{IoServiceBytesRecursive: []container.BlkioStatEntry{
		{Op: "read", Value: st.BlkioRead}, {Op: "write", Value: st.BlkioWrite},
	}}
	s.Networks = map[string]container.NetworkStats{}
	return s
}

func hostMemory() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// ContainerStats implements api.ContainerService: one sample (with the
// previous one a second before, for CPU percentages, unless oneShot),
// or with stream one a second until ctx ends or send fails.
func (e *Engine) ContainerStats(ctx context.Context, ref string, stream, oneShot bool, send func(any) error) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	prev := e.sample(c)
	if !stream && !oneShot {
		time.Sleep(time.Second) // a CPU percentage needs two samples
	}
	for {
		cur := e.sample(c)
		if !oneShot {
			cur.PreRead, cur.PreCPUStats = prev.Read, prev.CPUStats
		}
		if err := send(cur); err != nil || !stream {
			return nil // a client gone away needs no answer
		}
		prev = cur
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
