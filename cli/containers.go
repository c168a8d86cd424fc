package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// PsOptions are `skiff ps`.
type PsOptions struct {
	All     bool
	Quiet   bool
	NoTrunc bool
	Last    int
	Filters []string
	Format  string
}

func parseFilterFlags(fs []string) (client.Filters, error) {
	f := client.Filters{}
	for _, kv := range fs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, &StatusError{Code: 1, Msg: "bad format of filter (expected name=value)"}
		}
		f.Add(strings.ToLower(strings.TrimSpace(k)), v)
	}
	return f, nil
}

// Ps lists containers.
func (c *CLI) Ps(ctx context.Context, opt PsOptions) error {
	filters, err := parseFilterFlags(opt.Filters)
	if err != nil {
		return err
	}
	res, err := c.API.ContainerList(ctx, client.ContainerListOptions{All: opt.All, Limit: opt.Last, Filters: filters})
	if err != nil {
		return err
	}
	if opt.Quiet {
		for _, s := range res.Items {
			id := s.ID
			if !opt.NoTrunc {
				id = shortID(id)
			}
			fmt.Fprintln(c.Out, id)
		}
		return nil
	}
	if opt.Format != "" && opt.Format != "table" {
		return c.psTemplate(res.Items, opt)
	}
	tw := newTable(c.Out)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, s := range res.Items {
		r := psRow(s, opt.NoTrunc)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Image, r.Command, r.CreatedSince, r.Status, r.Ports, r.Names)
	}
	return tw.Flush()
}

// psRowData are the fields of a ps row, named as in docker's --format.
type psRowData struct {
	ID, Image, Command, CreatedSince, CreatedAt, Status, Ports, Names, State, Labels, Networks string
}

func psRow(s container.Summary, noTrunc bool) psRowData {
	id := s.ID
	image := s.Image
	if !noTrunc {
		id = shortID(id)
		if strings.HasPrefix(image, "sha256:") {
			image = shortID(image)
		}
	}
	names := make([]string, 0, len(s.Names))
	for _, n := range s.Names {
		names = append(names, strings.TrimPrefix(n, "/"))
	}
	var labels []string
	for k, v := range s.Labels {
		labels = append(labels, k+"="+v)
	}
	return psRowData{
		ID:           id,
		Image:        image,
		Command:      quoteCommand(s.Command, !noTrunc),
		CreatedSince: ago(s.Created),
		Status:       s.Status,
		Ports:        formatPorts(s.Ports),
		Names:        strings.Join(names, ","),
		State:        string(s.State),
		Labels:       strings.Join(labels, ","),
		Networks:     s.HostConfig.NetworkMode,
	}
}

func (c *CLI) psTemplate(items []container.Summary, opt PsOptions) error {
	format := opt.Format
	table := false
	if rest, ok := strings.CutPrefix(format, "table "); ok {
		format, table = rest, true
	}
	if format == "json" || format == "{{json .}}" {
		for _, s := range items {
			b, _ := json.Marshal(psRow(s, opt.NoTrunc))
			fmt.Fprintln(c.Out, string(b))
		}
		return nil
	}
	t, err := parseTemplate(format)
	if err != nil {
		return err
	}
	w := c.Out
	tw := newTable(c.Out)
	if table {
		w = tw
		header := strings.NewReplacer("{{.ID}}", "CONTAINER ID", "{{.Image}}", "IMAGE", "{{.Command}}", "COMMAND",
			"{{.CreatedSince}}", "CREATED", "{{.RunningFor}}", "CREATED", "{{.Status}}", "STATUS", "{{.Ports}}", "PORTS",
			"{{.Names}}", "NAMES", "{{.State}}", "STATE", "{{.Labels}}", "LABELS", "{{.Networks}}", "NETWORKS").
			Replace(strings.ReplaceAll(format, `\t`, "\t"))
		fmt.Fprintln(w, header)
	}
	for _, s := range items {
		r := psRow(s, opt.NoTrunc)
		data := map[string]any{
			"ID": r.ID, "Image": r.Image, "Command": r.Command, "CreatedSince": r.CreatedSince,
			"RunningFor": r.CreatedSince, "Status": r.Status, "Ports": r.Ports, "Names": r.Names,
			"State": r.State, "Labels": r.Labels, "Networks": r.Networks,
		}
		if err := t.Execute(w, data); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return tw.Flush()
}

// errSkip from forEach's fn passes over a name silently (rm -f of one
// that does not exist).
var errSkip = errors.New("skip")

// forEach runs fn on each name, printing the name when it succeeds and
// the error when not; docker exits 1 when any failed.
func (c *CLI) forEach(names []string, fn func(string) error) error {
	failed := false
	for _, n := range names {
		err := fn(n)
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			fmt.Fprintln(c.Err, err)
			failed = true
			continue
		}
		fmt.Fprintln(c.Out, n)
	}
	if failed {
		return &StatusError{Code: 1}
	}
	return nil
}

// Rm removes containers.
func (c *CLI) Rm(ctx context.Context, names []string, force, volumes bool) error {
	return c.forEach(names, func(n string) error {
		_, err := c.API.ContainerRemove(ctx, n, client.ContainerRemoveOptions{Force: force, RemoveVolumes: volumes})
		return err
	})
}

// Start starts containers; with attach, the single container's streams
// are joined to the terminal and its exit code returned.
func (c *CLI) Start(ctx context.Context, names []string, attach, interactive bool, detachKeys string) error {
	if !attach && !interactive {
		return c.forEach(names, func(n string) error {
			_, err := c.API.ContainerStart(ctx, n, client.ContainerStartOptions{})
			return err
		})
	}
	if len(names) != 1 {
		return &StatusError{Code: 1, Msg: "you cannot start and attach multiple containers at once"}
	}
	insp, err := c.API.ContainerInspect(ctx, names[0], client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	cfg := *insp.Container.Config
	cfg.AttachStdin = interactive && cfg.OpenStdin
	cfg.AttachStdout, cfg.AttachStderr = true, true
	return c.attachSession(ctx, session{id: insp.Container.ID, cfg: &cfg,
		autoRemove: insp.Container.HostConfig != nil && insp.Container.HostConfig.AutoRemove, detachKeys: detachKeys, start: true})
}

// Stop stops containers.
func (c *CLI) Stop(ctx context.Context, names []string, timeout *int, sig string) error {
	return c.forEach(names, func(n string) error {
		_, err := c.API.ContainerStop(ctx, n, client.ContainerStopOptions{Timeout: timeout, Signal: sig})
		return err
	})
}

// Kill signals containers.
func (c *CLI) Kill(ctx context.Context, names []string, sig string) error {
	return c.forEach(names, func(n string) error {
		_, err := c.API.ContainerKill(ctx, n, client.ContainerKillOptions{Signal: sig})
		return err
	})
}

// Wait blocks until each container stops and prints its exit code.
func (c *CLI) Wait(ctx context.Context, names []string) error {
	failed := false
	for _, n := range names {
		w := c.API.ContainerWait(ctx, n, client.ContainerWaitOptions{})
		select {
		case res := <-w.Result:
			fmt.Fprintln(c.Out, res.StatusCode)
		case err := <-w.Error:
			fmt.Fprintln(c.Err, err)
			failed = true
		}
	}
	if failed {
		return &StatusError{Code: 1}
	}
	return nil
}

// LogsOptions are `skiff logs`.
type LogsOptions struct {
	Follow, Timestamps, Details bool
	Tail, Since, Until          string
}

// Logs prints a container's log.
func (c *CLI) Logs(ctx context.Context, name string, opt LogsOptions) error {
	insp, err := c.API.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	since, until, err := timeRange(opt.Since, opt.Until)
	if err != nil {
		return err
	}
	rc, err := c.API.ContainerLogs(ctx, insp.Container.ID, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: opt.Follow, Timestamps: opt.Timestamps, Details: opt.Details,
		Tail: opt.Tail, Since: since, Until: until,
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	if insp.Container.Config.Tty {
		_, err = io.Copy(c.Out, rc)
	} else {
		_, err = stdcopy.StdCopy(c.Out, c.Err, rc)
	}
	return err
}

// Inspect prints objects as JSON, or through a Go template.
func (c *CLI) Inspect(ctx context.Context, names []string, kind, format string) error {
	return c.inspectAll(names, format, func(n string) (inspected, error) {
		raw, err := c.inspectRaw(ctx, n, kind)
		return inspected{raw: raw}, err
	})
}

func (c *CLI) inspectRaw(ctx context.Context, name, kind string) (json.RawMessage, error) {
	if kind == "" || kind == "container" {
		res, err := c.API.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
		if err == nil {
			return res.Raw, nil
		}
		if kind == "container" || !isNotFound(err) {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if _, err := c.API.ImageInspect(ctx, name, client.ImageInspectWithRawResponse(&buf)); err != nil {
		if kind == "" && isNotFound(err) {
			return nil, fmt.Errorf("Error: No such object: %s", name)
		}
		return nil, err
	}
	return json.RawMessage(buf.Bytes()), nil
}

// ContainerPrune removes all stopped containers.
func (c *CLI) ContainerPrune(ctx context.Context) error {
	res, err := c.API.ContainerPrune(ctx, client.ContainerPruneOptions{})
	if err != nil {
		return err
	}
	printPruned(c.Out, "Deleted Containers:", res.Report.ContainersDeleted, res.Report.SpaceReclaimed)
	return nil
}

// printPruned is a prune's report, as docker prints it.
func printPruned(w io.Writer, title string, deleted []string, reclaimed uint64) {
	printDeleted(w, title, deleted)
	fmt.Fprintf(w, "Total reclaimed space: %s\n", humanSize(int64(reclaimed)))
}

// printDeleted is the list of a prune's report: the title, a line for
// each, an empty line; nothing when nothing was deleted.
func printDeleted(w io.Writer, title string, deleted []string) {
	if len(deleted) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	for _, d := range deleted {
		fmt.Fprintln(w, d)
	}
	fmt.Fprintln(w)
}

// Restart restarts containers.
func (c *CLI) Restart(ctx context.Context, names []string, timeout *int, sig string) error {
	return c.forEach(names, func(n string) error {
		_, err := c.API.ContainerRestart(ctx, n, client.ContainerRestartOptions{Timeout: timeout, Signal: sig})
		return err
	})
}

// Rename renames a container.
func (c *CLI) Rename(ctx context.Context, name, newName string) error {
	_, err := c.API.ContainerRename(ctx, name, client.ContainerRenameOptions{NewName: newName})
	if err != nil {
		return fmt.Errorf("%w\nError: failed to rename container named %s", err, name)
	}
	return nil
}

// Top prints the container's processes.
func (c *CLI) Top(ctx context.Context, name, psArgs string) error {
	var args []string
	if psArgs != "" {
		args = strings.Fields(psArgs)
	}
	res, err := c.API.ContainerTop(ctx, name, client.ContainerTopOptions{Arguments: args})
	if err != nil {
		return err
	}
	tw := newTable(c.Out)
	fmt.Fprintln(tw, strings.Join(res.Titles, "\t"))
	for _, p := range res.Processes {
		fmt.Fprintln(tw, strings.Join(p, "\t"))
	}
	return tw.Flush()
}

// Port prints the container's published ports ("80/tcp -> 0.0.0.0:8080"),
// or the host addresses of one of them, sorted as docker sorts them.
func (c *CLI) Port(ctx context.Context, name, private string) error {
	insp, err := c.API.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	var ports network.PortMap
	if ns := insp.Container.NetworkSettings; ns != nil {
		ports = ns.Ports
	}
	hostAddr := func(b network.PortBinding) string {
		ip := "0.0.0.0"
		if b.HostIP.IsValid() {
			ip = b.HostIP.String()
		}
		return net.JoinHostPort(ip, b.HostPort)
	}
	var out []string
	if private != "" {
		num, proto, _ := strings.Cut(private, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil {
			return fmt.Errorf("Error: invalid port (%s): %w", num, err)
		}
		p, _ := network.PortFrom(uint16(n), network.IPProtocol(proto))
		bindings := ports[p]
		if len(bindings) == 0 {
			return fmt.Errorf("Error: No public port '%s' published for %s", private, name)
		}
		for _, b := range bindings {
			out = append(out, hostAddr(b))
		}
	} else {
		for p, bindings := range ports {
			for _, b := range bindings {
				out = append(out, p.String()+" -> "+hostAddr(b))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
	for _, l := range out {
		fmt.Fprintln(c.Out, l)
	}
	return nil
}
