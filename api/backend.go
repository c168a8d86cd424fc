package api

import (
	"context"
	"io"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"

	"github.com/skiff-dev/skiff/opts"
)

// Backend is what the API serves: one service per area, with typed
// methods. Errors carry their errdefs class (not found, invalid
// argument, conflict, not modified...), which gives the HTTP status.
type Backend interface {
	SystemService
	VolumeService
	NetworkService
	ImageService
	ContainerService
	ExecService
	EventService
}

// SystemService answers /version and /info.
type SystemService interface {
	Version(ctx context.Context) system.VersionResponse
	Info(ctx context.Context) system.Info
}

// VolumeService manages volumes.
type VolumeService interface {
	VolumeCreate(ctx context.Context, req volume.CreateRequest) (volume.Volume, error)
	VolumeList(ctx context.Context, f opts.Filters) (volume.ListResponse, error)
	VolumeInspect(ctx context.Context, name string) (volume.Volume, error)
	// VolumeRemove removes a volume; force makes a missing one no error.
	VolumeRemove(ctx context.Context, name string, force bool) error
	VolumesPrune(ctx context.Context, f opts.Filters) (volume.PruneReport, error)
}

// NetworkService manages networks and their containers' endpoints.
type NetworkService interface {
	NetworkList(ctx context.Context, f opts.Filters) ([]network.Inspect, error)
	NetworkInspect(ctx context.Context, ref string) (network.Inspect, error)
	NetworkCreate(ctx context.Context, req network.CreateRequest) (network.CreateResponse, error)
	NetworkRemove(ctx context.Context, ref string) error
	NetworksPrune(ctx context.Context, f opts.Filters) (network.PruneReport, error)
	NetworkConnect(ctx context.Context, ref, container string, cfg *network.EndpointSettings) error
	// NetworkDisconnect detaches the container; force also drops a
	// network that no longer exists from the container's record.
	NetworkDisconnect(ctx context.Context, ref, container string, force bool) error
}

// Progress receives an operation's progress messages (pull, load...).
type Progress func(jsonstream.Message)

// ImageService manages images.
type ImageService interface {
	// ImagePull pulls ref ("name:tag" or "name@digest") for platform
	// ("" is the engine's).
	ImagePull(ctx context.Context, ref, platform string, progress Progress) error
	// ImageLoad loads a docker-archive or OCI layout tarball.
	ImageLoad(ctx context.Context, archive io.Reader, progress Progress) error
	ImageList(ctx context.Context, f opts.Filters) ([]image.Summary, error)
	ImageInspect(ctx context.Context, name string) (image.InspectResponse, error)
	ImageHistory(ctx context.Context, name string) ([]image.HistoryResponseItem, error)
	// ImageTag gives the image name the name repo:tag.
	ImageTag(ctx context.Context, name, repo, tag string) error
	ImageRemove(ctx context.Context, name string, force bool) ([]image.DeleteResponse, error)
	ImagesPrune(ctx context.Context, f opts.Filters) (image.PruneReport, error)
}

// ContainerService manages containers.
type ContainerService interface {
	// ContainerCreate makes a container; macAddress is the deprecated
	// Config.MacAddress, which the API types no longer hold.
	ContainerCreate(ctx context.Context, name, platform string, req container.CreateRequest, macAddress string) (container.CreateResponse, error)
	// ContainerList lists the running containers; all of them with all,
	// the limit newest with a positive limit.
	ContainerList(ctx context.Context, all bool, limit int, f opts.Filters) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, ref string) (ContainerJSON, error)
	ContainerStart(ctx context.Context, ref string) error
	// ContainerStop sends signal ("" is the container's stop signal) and
	// kills after timeout seconds (nil is the container's own).
	ContainerStop(ctx context.Context, ref, signal string, timeout *int) error
	ContainerRestart(ctx context.Context, ref, signal string, timeout *int) error
	// ContainerKill sends signal ("" is SIGKILL).
	ContainerKill(ctx context.Context, ref, signal string) error
	ContainerRemove(ctx context.Context, ref string, force, volumes bool) error
	ContainersPrune(ctx context.Context, f opts.Filters) (container.PruneReport, error)
	ContainerRename(ctx context.Context, ref, name string) error
	ContainerPause(ctx context.Context, ref string) error
	ContainerUnpause(ctx context.Context, ref string) error
	ContainerUpdate(ctx context.Context, ref string, req container.UpdateConfig) (container.UpdateResponse, error)
	ContainerTop(ctx context.Context, ref, psArgs string) (container.TopResponse, error)
	ContainerResize(ctx context.Context, ref string, h, w uint16) error
	// ContainerWait checks the request and returns the wait itself, which
	// blocks until the condition holds ("" is not-running) or ctx ends.
	ContainerWait(ctx context.Context, ref string, cond container.WaitCondition) (func(context.Context) (container.WaitResponse, error), error)
	// ContainerStats sends the container's usage (container.StatsResponse
	// values): once, or with stream every second until ctx ends or send
	// fails. oneShot skips the earlier sample CPU percentages need.
	ContainerStats(ctx context.Context, ref string, stream, oneShot bool, send func(any) error) error
	// ContainerLogs opens the container's log.
	ContainerLogs(ctx context.Context, ref string, o LogsOptions) (Logs, error)
	// ContainerAttach joins the client to the container's streams (before
	// start, once it starts). It checks the request, then calls upgrade;
	// an error after that is marked Upgraded.
	ContainerAttach(ctx context.Context, ref string, o AttachOptions, upgrade Upgrade) error
}

// ExecService runs processes in running containers.
type ExecService interface {
	ExecCreate(ctx context.Context, container string, req container.ExecCreateRequest) (container.ExecCreateResponse, error)
	ExecInspect(ctx context.Context, id string) (container.ExecInspectResponse, error)
	ExecResize(ctx context.Context, id string, h, w uint16) error
	// ExecStart runs the exec: detached when upgrade is nil, else with
	// its streams on the upgraded connection (as ContainerAttach).
	ExecStart(ctx context.Context, id string, upgrade Upgrade) error
}

// EventService streams what happens in the engine.
type EventService interface {
	// Events sends the kept events from since to until (none without
	// since), then the new ones until until (forever when zero), those
	// that pass f (a key it does not know filters nothing out, as
	// Docker); it ends when ctx does or send fails.
	Events(ctx context.Context, since, until time.Time, f opts.Filters, send func(events.Message) error)
}
