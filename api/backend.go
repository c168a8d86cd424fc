package api

import (
	"context"

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
