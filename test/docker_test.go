package test

import (
	"errors"
	"os/exec"
)

// lookDocker finds the docker CLI, which this machine kind ships (with
// -target=docker, the one the tests drive dockerd with).
func lookDocker() (string, error) {
	if daemon != nil {
		return daemon.cli, nil
	}
	p, err := exec.LookPath("docker")
	if err != nil {
		return "", errors.New("the docker CLI is not installed: the compatibility tests need it")
	}
	return p, nil
}

// dockerEnv is e for the docker CLI: DOCKER_HOST on e's engine and a
// docker config of e's own.
func (e *env) dockerEnv() env {
	d := *e
	d.environ = append(append([]string(nil), e.environ...), "DOCKER_HOST=unix://"+e.socket(), "DOCKER_CONFIG="+e.base+"/docker")
	return d
}
