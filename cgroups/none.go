package cgroups

import (
	"fmt"
	"reflect"
)

// None is the Manager of a host that offers no cgroups to the engine:
// containers run without a cgroup of their own, and every request for a
// limit fails with why (reason). It is never nil, so that code paths
// that touch cgroups need no special case.
func None(reason error) Manager { return none{reason} }

type none struct{ reason error }

func (n none) err() error { return fmt.Errorf("resource limits are not available: %w", n.reason) }

// Create makes nothing; limits fail.
func (n none) Create(_ string, r Resources) error {
	if !reflect.ValueOf(r).IsZero() {
		return n.err()
	}
	return nil
}

func (none) Add(string, int) error { return nil }

// Update fails for any limit (there is no cgroup to write it to).
func (n none) Update(_ string, r Resources) error {
	if !reflect.ValueOf(r).IsZero() {
		return n.err()
	}
	return nil
}

func (n none) Stats(string) (Stats, error)  { return Stats{}, n.err() }
func (none) OOMKilled(string) (bool, error) { return false, nil }
func (n none) Freeze(string) error          { return n.err() }
func (n none) Thaw(string) error            { return n.err() }
func (none) Pids(string) ([]int, error)     { return nil, nil }
func (none) Destroy(string) error           { return nil }
func (none) ProcsFiles(string) []string     { return nil }
func (n none) Available() Capabilities      { return Capabilities{Hint: n.reason.Error()} }
func (none) Version() int                   { return 0 }
