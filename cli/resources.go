package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/user"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/skiff-dev/skiff/cgroups"
)

// Pause freezes containers; Unpause thaws them.
func (c *CLI) Pause(ctx context.Context, names []string, pause bool) error {
	return c.forEach(names, func(n string) error {
		var err error
		if pause {
			_, err = c.API.ContainerPause(ctx, n, client.ContainerPauseOptions{})
		} else {
			_, err = c.API.ContainerUnpause(ctx, n, client.ContainerUnpauseOptions{})
		}
		return err
	})
}

// Update changes the limits of containers.
func (c *CLI) Update(ctx context.Context, names []string, r container.Resources, rp *container.RestartPolicy) error {
	return c.forEach(names, func(n string) error {
		_, err := c.API.ContainerUpdate(ctx, n, client.ContainerUpdateOptions{Resources: &r, RestartPolicy: rp})
		return err
	})
}

// Stats prints one table of usage (docker stats --no-stream), or with
// format a template per container.
func (c *CLI) Stats(ctx context.Context, names []string, all bool, format string) error {
	if len(names) == 0 {
		res, err := c.API.ContainerList(ctx, client.ContainerListOptions{All: all})
		if err != nil {
			return err
		}
		for _, s := range res.Items {
			names = append(names, s.ID)
		}
	}
	type row struct {
		Container, ID, Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs string
	}
	var rows []row
	for _, n := range names {
		res, err := c.API.ContainerStats(ctx, n, client.ContainerStatsOptions{Stream: false})
		if err != nil {
			return err
		}
		var s container.StatsResponse
		err = json.NewDecoder(res.Body).Decode(&s)
		res.Body.Close()
		if err != nil {
			return err
		}
		cpu := 0.0
		if cd, sd := float64(s.CPUStats.CPUUsage.TotalUsage)-float64(s.PreCPUStats.CPUUsage.TotalUsage),
			float64(s.CPUStats.SystemUsage)-float64(s.PreCPUStats.SystemUsage); cd > 0 && sd > 0 {
			cpu = cd / sd * float64(s.CPUStats.OnlineCPUs) * 100
		}
		used := s.MemoryStats.Usage
		if v, ok := s.MemoryStats.Stats["inactive_file"]; ok && v < used {
			used -= v
		}
		memPerc := 0.0
		if s.MemoryStats.Limit > 0 {
			memPerc = float64(used) / float64(s.MemoryStats.Limit) * 100
		}
		var rd, wr uint64
		for _, e := range s.BlkioStats.IoServiceBytesRecursive {
			switch strings.ToLower(e.Op) {
			case "read":
				rd += e.Value
			case "write":
				wr += e.Value
			}
		}
		var rx, tx uint64
		for _, nw := range s.Networks {
			rx += nw.RxBytes
			tx += nw.TxBytes
		}
		id := shortID(s.ID)
		rows = append(rows, row{
			Container: n, ID: id, Name: strings.TrimPrefix(s.Name, "/"),
			CPUPerc:  fmt.Sprintf("%.2f%%", cpu),
			MemUsage: units.BytesSize(float64(used)) + " / " + units.BytesSize(float64(s.MemoryStats.Limit)),
			MemPerc:  fmt.Sprintf("%.2f%%", memPerc),
			NetIO:    units.HumanSizeWithPrecision(float64(rx), 3) + " / " + units.HumanSizeWithPrecision(float64(tx), 3),
			BlockIO:  units.HumanSizeWithPrecision(float64(rd), 3) + " / " + units.HumanSizeWithPrecision(float64(wr), 3),
			PIDs:     strconv.FormatUint(s.PidsStats.Current, 10),
		})
	}
	if format != "" && format != "table" {
		t, err := parseTemplate(strings.TrimPrefix(format, "table "))
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := t.Execute(c.Out, r); err != nil {
				return err
			}
			fmt.Fprintln(c.Out)
		}
		return nil
	}
	tw := newTable(c.Out)
	fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs)
	}
	return tw.Flush()
}

// CgroupSetup is `skiff system cgroup-setup --user NAME` (as root): it
// hands the user a cgroup v1 subtree per controller, so that their
// rootless containers get real limits.
func CgroupSetup(userName string) error {
	u, err := user.Lookup(userName)
	if err != nil {
		return &StatusError{Code: 1, Msg: err.Error()}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	made, err := cgroups.SetupUserV1("/sys/fs/cgroup", u.Username, uid, gid)
	if err != nil {
		return &StatusError{Code: 1, Msg: err.Error()}
	}
	for _, p := range made {
		fmt.Println(p)
	}
	return nil
}
