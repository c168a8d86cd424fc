package engine

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/skiff-dev/skiff/cgroups"
)

// resourcesOf turns the API's resources into the cgroup manager's,
// resolving block device paths to their numbers.
func resourcesOf(r container.Resources) (cgroups.Resources, error) {
	out := cgroups.Resources{
		Memory: r.Memory, MemorySwap: r.MemorySwap, MemoryReservation: r.MemoryReservation,
		OomKillDisable: r.OomKillDisable, CPUShares: r.CPUShares, CPUPeriod: r.CPUPeriod,
		CPUQuota: r.CPUQuota, NanoCPUs: r.NanoCPUs, CpusetCpus: r.CpusetCpus, CpusetMems: r.CpusetMems,
		PidsLimit: r.PidsLimit, BlkioWeight: r.BlkioWeight,
	}
	conv := func(flag string, in []*blkiodev.ThrottleDevice) ([]cgroups.ThrottleDevice, error) {
		var devs []cgroups.ThrottleDevice
		for _, d := range in {
			major, minor, err := cgroups.DeviceNumbers(d.Path)
			if err != nil {
				return nil, fmt.Errorf("invalid %s: %w", flag, err)
			}
			devs = append(devs, cgroups.ThrottleDevice{Major: major, Minor: minor, Rate: d.Rate})
		}
		return devs, nil
	}
	var err error
	if out.BlkioDeviceReadBps, err = conv("--device-read-bps", r.BlkioDeviceReadBps); err != nil {
		return out, err
	}
	if out.BlkioDeviceWriteBps, err = conv("--device-write-bps", r.BlkioDeviceWriteBps); err != nil {
		return out, err
	}
	if out.BlkioDeviceReadIOps, err = conv("--device-read-iops", r.BlkioDeviceReadIOps); err != nil {
		return out, err
	}
	if out.BlkioDeviceWriteIOps, err = conv("--device-write-iops", r.BlkioDeviceWriteIOps); err != nil {
		return out, err
	}
	return out, nil
}

// checkResources validates a container's limits before anything is made:
// Docker's rules, then whether this engine can apply them at all.
func (e *Engine) checkResources(hc *container.HostConfig) error {
	hr := hc.Resources
	if e.opt.Paths.Rootless && (hr.BlkioWeight != 0 || len(hr.BlkioDeviceReadBps)+len(hr.BlkioDeviceWriteBps)+len(hr.BlkioDeviceReadIOps)+len(hr.BlkioDeviceWriteIOps) > 0) {
		return errInvalid(errors.New("block I/O limits (--blkio-weight, --device-read-bps, --device-write-bps, --device-read-iops, --device-write-iops) need root mode (hint: run skiff as root)"))
	}
	r, err := resourcesOf(hc.Resources)
	if err != nil {
		return errInvalid(err)
	}
	if err := cgroups.Validate(r); err != nil {
		return errInvalid(err)
	}
	if !r.Limited() {
		return nil
	}
	if e.cgroupErr != nil {
		return errInvalid(fmt.Errorf("resource limits are not available: %w", e.cgroupErr))
	}
	return nil
}

// createCgroup makes the container's cgroup with its limits.
func (e *Engine) createCgroup(c *ctr) error {
	if e.cgroupErr != nil {
		return nil
	}
	r, err := resourcesOf(c.rec.HostConfig.Resources)
	if err != nil {
		return errInvalid(err)
	}
	// A new name each start: the cgroup of the previous run may still be
	// on its way out (destroyCgroup does not make the exit wait for it).
	name := c.rec.ID + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := e.cgroups.Create(name, r); err != nil {
		return errInvalid(err)
	}
	c.mu.Lock()
	c.rec.Cgroup = name
	c.mu.Unlock()
	return nil
}

// destroyCgroup removes the container's cgroup in the background: rmdir
// on cgroupfs is slow, and nothing waits for it.
// unmountRootfs unmounts the container's root filesystem, logging a
// failure: the next start mounts it again and removal unmounts it anyway.
func (e *Engine) unmountRootfs(c *ctr) {
	if _, err := e.images.Unmount(c.rec.ID, true); err != nil {
		e.log.Printf("container %s: unmounting its filesystem: %v", c.rec.ID, err)
	}
}

func (e *Engine) destroyCgroup(c *ctr) {
	if e.cgroupErr != nil {
		return
	}
	c.mu.Lock()
	name := c.rec.Cgroup
	c.mu.Unlock()
	if name == "" {
		return
	}
	go func() {
		if err := e.cgroups.Destroy(name); err != nil {
			e.log.Printf("removing cgroup %s: %v", name, err)
		}
	}()
}

// mergeResources applies the non-zero fields of an update, as Docker does.
func mergeResources(dst *container.Resources, u container.Resources) {
	if u.Memory != 0 {
		dst.Memory = u.Memory
	}
	if u.MemorySwap != 0 {
		dst.MemorySwap = u.MemorySwap
	}
	if u.MemoryReservation != 0 {
		dst.MemoryReservation = u.MemoryReservation
	}
	if u.CPUShares != 0 {
		dst.CPUShares = u.CPUShares
	}
	if u.CPUPeriod != 0 {
		dst.CPUPeriod = u.CPUPeriod
	}
	if u.CPUQuota != 0 {
		dst.CPUQuota = u.CPUQuota
	}
	if u.NanoCPUs != 0 {
		dst.NanoCPUs = u.NanoCPUs
	}
	if u.CpusetCpus != "" {
		dst.CpusetCpus = u.CpusetCpus
	}
	if u.CpusetMems != "" {
		dst.CpusetMems = u.CpusetMems
	}
	if u.PidsLimit != nil {
		dst.PidsLimit = u.PidsLimit
	}
	if u.BlkioWeight != 0 {
		dst.BlkioWeight = u.BlkioWeight
	}
}
