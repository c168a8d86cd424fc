package api

import (
	"context"

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
