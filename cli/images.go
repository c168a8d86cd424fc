package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/moby/term"
	"github.com/skiff-dev/skiff/opts"
)

// ImagesOptions are `skiff images`.
type ImagesOptions struct {
	All, Quiet, NoTrunc, Digests bool
	Filters                      []string
	Repository                   string
}

// Images lists images: REPOSITORY TAG IMAGE ID CREATED SIZE.
func (c *CLI) Images(ctx context.Context, opt ImagesOptions) error {
	filters, err := parseFilterFlags(opt.Filters)
	if err != nil {
		return err
	}
	if opt.Repository != "" {
		filters.Add("reference", opt.Repository)
	}
	res, err := c.API.ImageList(ctx, client.ImageListOptions{All: opt.All, Filters: filters})
	if err != nil {
		return err
	}
	type row struct{ repo, tag, digest, id, created, size string }
	var rows []row
	for _, s := range res.Items {
		id := s.ID
		if !opt.NoTrunc {
			id = shortID(id)
		}
		base := row{id: id, created: ago(s.Created), size: humanSize(s.Size), digest: "<none>"}
		if len(s.RepoDigests) > 0 {
			if _, d, ok := strings.Cut(s.RepoDigests[0], "@"); ok {
				base.digest = d
			}
		}
		if len(s.RepoTags) == 0 {
			r := base
			r.repo, r.tag = "<none>", "<none>"
			rows = append(rows, r)
			continue
		}
		tags := append([]string(nil), s.RepoTags...)
		sort.Strings(tags)
		for _, t := range tags {
			r := base
			i := strings.LastIndex(t, ":")
			r.repo, r.tag = t[:i], t[i+1:]
			rows = append(rows, r)
		}
	}
	if opt.Quiet {
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.id] {
				seen[r.id] = true
				fmt.Fprintln(c.Out, r.id)
			}
		}
		return nil
	}
	tw := newTable(c.Out)
	if opt.Digests {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
	} else {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	}
	for _, r := range rows {
		if opt.Digests {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.repo, r.tag, r.digest, r.id, r.created, r.size)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.repo, r.tag, r.id, r.created, r.size)
		}
	}
	return tw.Flush()
}

// Rmi removes images.
func (c *CLI) Rmi(ctx context.Context, names []string, force bool) error {
	failed := false
	for _, n := range names {
		res, err := c.API.ImageRemove(ctx, n, client.ImageRemoveOptions{Force: force})
		if err != nil {
			fmt.Fprintln(c.Err, err)
			failed = true
			continue
		}
		for _, d := range res.Items {
			if d.Untagged != "" {
				fmt.Fprintf(c.Out, "Untagged: %s\n", d.Untagged)
			}
			if d.Deleted != "" {
				fmt.Fprintf(c.Out, "Deleted: %s\n", d.Deleted)
			}
		}
	}
	if failed {
		return &StatusError{Code: 1}
	}
	return nil
}

// Tag gives the image src the name target.
func (c *CLI) Tag(ctx context.Context, src, target string) error {
	if _, err := opts.NormalizeImage(target); err != nil {
		return &StatusError{Code: 1, Msg: fmt.Sprintf("Error parsing reference: %q is not a valid repository/tag: invalid reference format", target)}
	}
	_, err := c.API.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: target})
	return err
}

// History prints an image's layers, newest first.
func (c *CLI) History(ctx context.Context, name string, noTrunc, quiet bool) error {
	res, err := c.API.ImageHistory(ctx, name)
	if err != nil {
		return err
	}
	if quiet {
		for _, h := range res.Items {
			id := h.ID
			if !noTrunc && id != "<missing>" {
				id = shortID(id)
			}
			fmt.Fprintln(c.Out, id)
		}
		return nil
	}
	tw := newTable(c.Out)
	fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
	for _, h := range res.Items {
		id, by := h.ID, h.CreatedBy
		if !noTrunc {
			if id != "<missing>" {
				id = shortID(id)
			}
			by = ellipsis(strings.ReplaceAll(by, "\t", " "), 45)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, ago(h.Created), by, humanSize(h.Size), h.Comment)
	}
	return tw.Flush()
}

// ImagePrune removes dangling images, or with all every unused one.
func (c *CLI) ImagePrune(ctx context.Context, all bool) error {
	f := client.Filters{}
	if all {
		f.Add("dangling", "false")
	}
	res, err := c.API.ImagePrune(ctx, client.ImagePruneOptions{Filters: f})
	if err != nil {
		return err
	}
	var lines []string
	for _, d := range res.Report.ImagesDeleted {
		if d.Untagged != "" {
			lines = append(lines, "untagged: "+d.Untagged)
		}
		if d.Deleted != "" {
			lines = append(lines, "deleted: "+d.Deleted)
		}
	}
	printPruned(c.Out, "Deleted Images:", lines, res.Report.SpaceReclaimed)
	return nil
}

// Load reads a `docker save` archive from path ("" means stdin).
func (c *CLI) Load(ctx context.Context, path string, quiet bool) error {
	in := c.In
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return &StatusError{Code: 1, Msg: err.Error()}
		}
		defer f.Close()
		in = f
	} else if _, isTerm := term.GetFdInfo(c.In); isTerm {
		return &StatusError{Code: 1, Msg: "requested load from stdin, but stdin is empty"}
	}
	res, err := c.API.ImageLoad(ctx, in)
	if err != nil {
		return err
	}
	defer res.Close()
	out := c.Out
	if quiet {
		out = io.Discard
	}
	fd, isTerm := term.GetFdInfo(out)
	return jsonmessage.DisplayJSONMessagesStream(res, out, fd, isTerm, nil)
}

// Version prints the client's and the engine's versions.
func (c *CLI) Version(ctx context.Context, clientVersion string) error {
	fmt.Fprintf(c.Out, "Client:\n Version:\t%s\n API version:\t%s\n\n", clientVersion, c.API.ClientVersion())
	v, err := c.API.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Out, "Server: skiff\n Engine:\n  Version:\t%s\n  API version:\t%s (minimum version %s)\n  OS/Arch:\t%s/%s\n",
		v.Version, v.APIVersion, v.MinAPIVersion, v.Os, v.Arch)
	return nil
}

// Info prints a summary of the engine.
func (c *CLI) Info(ctx context.Context) error {
	res, err := c.API.Info(ctx, client.InfoOptions{})
	if err != nil {
		return err
	}
	i := res.Info
	fmt.Fprintf(c.Out, "Server:\n Containers: %d\n  Running: %d\n  Paused: %d\n  Stopped: %d\n Images: %d\n Server Version: %s\n Storage Driver: %s\n Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %s\n Security Options:\n",
		i.Containers, i.ContainersRunning, i.ContainersPaused, i.ContainersStopped, i.Images, i.ServerVersion, i.Driver, i.LoggingDriver, i.CgroupDriver, i.CgroupVersion)
	for _, o := range i.SecurityOptions {
		fmt.Fprintf(c.Out, "  %s\n", strings.TrimPrefix(o, "name="))
	}
	fmt.Fprintf(c.Out, " Kernel Version: %s\n Operating System: %s\n OSType: %s\n Architecture: %s\n CPUs: %d\n Total Memory: %s\n Name: %s\n Docker Root Dir: %s\n",
		i.KernelVersion, i.OperatingSystem, i.OSType, i.Architecture, i.NCPU, units.BytesSize(float64(i.MemTotal)), i.Name, i.DockerRootDir)
	fmt.Fprintf(c.Out, " Resource limits: memory=%v swap=%v cpu=%v cpuset=%v pids=%v\n", i.MemoryLimit, i.SwapLimit, i.CPUShares, i.CPUSet, i.PidsLimit)
	for _, w := range i.Warnings {
		fmt.Fprintln(c.Err, w)
	}
	return nil
}
