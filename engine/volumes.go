package engine

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/moby/moby/api/types/volume"
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

func (e *Engine) postVolumesCreate(w http.ResponseWriter, r *http.Request) {
	var req volume.CreateRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Driver != "" && req.Driver != "local" {
		writeError(w, errNotFound(fmt.Errorf("plugin %q not found", req.Driver)))
		return
	}
	v, err := e.volumes.Create(req.Name, req.Labels, req.DriverOpts)
	if err != nil {
		writeError(w, volumeErr(err))
		return
	}
	writeJSON(w, http.StatusCreated, volumeJSON(v))
}

func (e *Engine) getVolumes(w http.ResponseWriter, r *http.Request) {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, errInvalid(err))
		return
	}
	list, err := e.volumes.List()
	if err != nil {
		writeError(w, err)
		return
	}
	inUse := e.volumesInUse()
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range list {
		if d, ok := filters["dangling"]; ok {
			dangling := len(inUse[v.Name]) == 0
			if (d[0] == "true" || d[0] == "1") != dangling {
				continue
			}
		}
		if names, ok := filters["name"]; ok && !anyContains(v.Name, names) {
			continue
		}
		if labels, ok := filters["label"]; ok && !matchLabels(v.Labels, labels) {
			continue
		}
		out.Volumes = append(out.Volumes, volumeJSON(v))
	}
	writeJSON(w, http.StatusOK, out)
}

func anyContains(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func (e *Engine) getVolume(w http.ResponseWriter, r *http.Request) {
	v, err := e.volumes.Get(r.PathValue("name"))
	if err != nil {
		writeError(w, volumeErr(err))
		return
	}
	writeJSON(w, http.StatusOK, volumeJSON(v))
}

func (e *Engine) deleteVolume(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := e.volumes.Get(name); err != nil {
		if boolParam(r, "force") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeError(w, volumeErr(err))
		return
	}
	if users := e.volumesInUse()[name]; len(users) > 0 {
		writeError(w, errConflict(fmt.Errorf("remove %s: volume is in use - %v", name, users)))
		return
	}
	if err := e.volumes.Remove(name); err != nil {
		writeError(w, volumeErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) postVolumesPrune(w http.ResponseWriter, r *http.Request) {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, errInvalid(err))
		return
	}
	all := false
	if v, ok := filters["all"]; ok && (v[0] == "true" || v[0] == "1") {
		all = true
	}
	list, err := e.volumes.List()
	if err != nil {
		writeError(w, err)
		return
	}
	inUse := e.volumesInUse()
	report := volume.PruneReport{VolumesDeleted: []string{}}
	for _, v := range list {
		if len(inUse[v.Name]) > 0 || (!all && !v.Anonymous()) {
			continue
		}
		if labels, ok := filters["label"]; ok && !matchLabels(v.Labels, labels) {
			continue
		}
		size := volumes.Size(v)
		if err := e.volumes.Remove(v.Name); err == nil {
			report.VolumesDeleted = append(report.VolumesDeleted, v.Name)
			report.SpaceReclaimed += uint64(size)
		}
	}
	writeJSON(w, http.StatusOK, report)
}
