package engine

import (
	"fmt"
	"os"
	"strconv"
)

// containerPids lists the processes in the container's pid namespace.
func containerPids(initPid int) ([]int, error) {
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", initPid))
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns == target {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
