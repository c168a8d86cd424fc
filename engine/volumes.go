package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/volume"
	"github.com/skiff-dev/skiff/opts"
	"github.com/skiff-dev/skiff/volumes"
)

func volumeJSON(v *volumes.Volume) volume.Volume {
	opts, labels := v.Options, v.Labels
	if len(opts) == 0 {
		opts = nil
	}
	if len(labels) == 0 {
		labels = nil
	}
	return volume.Volume{
		Name:       v.Name,
		Driver:     v.Driver,
		Mountpoint: v.Mountpoint,
		CreatedAt:  v.CreatedAt.Format(time.RFC3339),
		Labels:     labels,
		Options:    opts,
		Scope:      "local",
	}
}

func volumeErr(err error) error {
	switch {
	case errors.Is(err, volumes.ErrNotFound):
		return errNotFound(err)
	case errors.Is(err, volumes.ErrInvalid):
		return errInvalid(err)
	}
	return err
}

// VolumeCreate implements api.VolumeService.
func (e *Engine) VolumeCreate(_ context.Context, req volume.CreateRequest) (volume.Volume, error) {
	if req.Driver != "" && req.Driver != "local" {
		return volume.Volume{}, errNotFound(fmt.Errorf("plugin %q not found", req.Driver))
	}
	v, err := e.volumes.Create(req.Name, req.Labels, req.DriverOpts)
	if err != nil {
		return volume.Volume{}, volumeErr(err)
	}
	e.emit(events.VolumeEventType, events.ActionCreate, v.Name, map[string]string{"driver": "local"})
	return volumeJSON(v), nil
}

// VolumeList implements api.VolumeService.
func (e *Engine) VolumeList(_ context.Context, f opts.Filters) (volume.ListResponse, error) {
	list, err := e.volumes.List()
	if err != nil {
		return volume.ListResponse{}, err
	}
	inUse := e.volumesInUse()
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range list {
		if dangling, ok := f.Bool("dangling"); ok && dangling != (len(inUse[v.Name]) == 0) {
			continue
		}
		if names, ok := f["name"]; ok && !anyContains(v.Name, names) {
			continue
		}
		if !f.MatchLabels(v.Labels) {
			continue
		}
		out.Volumes = append(out.Volumes, volumeJSON(v))
	}
	return out, nil
}

func anyContains(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// VolumeInspect implements api.VolumeService.
func (e *Engine) VolumeInspect(_ context.Context, name string) (volume.Volume, error) {
	v, err := e.volumes.Get(name)
	if err != nil {
		return volume.Volume{}, volumeErr(err)
	}
	return volumeJSON(v), nil
}

// VolumeRemove implements api.VolumeService.
func (e *Engine) VolumeRemove(_ context.Context, name string, force bool) error {
	if _, err := e.volumes.Get(name); err != nil {
		if force {
			return nil
		}
		return volumeErr(err)
	}
	if users := e.volumesInUse()[name]; len(users) > 0 {
		return errConflict(fmt.Errorf("remove %s: volume is in use - %v", name, users))
	}
	if err := e.volumes.Remove(name); err != nil {
		return volumeErr(err)
	}
	e.emit(events.VolumeEventType, events.ActionDestroy, name, map[string]string{"driver": "local"})
	return nil
}

// VolumesPrune implements api.VolumeService: unused anonymous volumes,
// or all unused ones with the all filter.
func (e *Engine) VolumesPrune(_ context.Context, f opts.Filters) (volume.PruneReport, error) {
	all, _ := f.Bool("all")
	list, err := e.volumes.List()
	if err != nil {
		return volume.PruneReport{}, err
	}
	inUse := e.volumesInUse()
	report := volume.PruneReport{VolumesDeleted: []string{}}
	for _, v := range list {
		if len(inUse[v.Name]) > 0 || (!all && !v.Anonymous()) || !f.MatchLabels(v.Labels) {
			continue
		}
		size := volumes.Size(v)
		if err := e.volumes.Remove(v.Name); err == nil {
			report.VolumesDeleted = append(report.VolumesDeleted, v.Name)
			report.SpaceReclaimed += uint64(size)
		}
	}
	return report, nil
}
