package engine

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
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

// getContainerTop is docker top: ps (default -ef) on the host, keeping the
// container's processes.
func (e *Engine) getContainerTop(w http.ResponseWriter, r *http.Request) {
	c, ok := e.container(w, r)
	if !ok {
		return
	}
	c.mu.Lock()
	running, pid := c.running(), c.rec.State.Pid
	c.mu.Unlock()
	if !running {
		writeError(w, errConflict(fmt.Errorf("container %s is not running", c.rec.ID)))
		return
	}
	args := strings.Fields(r.URL.Query().Get("ps_args"))
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	pids, err := containerPids(pid)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := exec.Command("ps", args...).Output()
	if err != nil {
		writeError(w, errInvalid(fmt.Errorf("ps: %w", err)))
		return
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	header := strings.Fields(lines[0])
	pidCol := -1
	for i, h := range header {
		if h == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		writeError(w, errInvalid(fmt.Errorf("Couldn't find PID field in ps output")))
		return
	}
	want := map[string]bool{}
	for _, p := range pids {
		want[strconv.Itoa(p)] = true
	}
	resp := container.TopResponse{Titles: header, Processes: [][]string{}}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= pidCol || !want[f[pidCol]] {
			continue
		}
		// The last column (the command) keeps its spaces.
		if len(f) > len(header) {
			rest := strings.Join(f[len(header)-1:], " ")
			f = append(f[:len(header)-1], rest)
		}
		resp.Processes = append(resp.Processes, f)
	}
	writeJSON(w, http.StatusOK, resp)
}
