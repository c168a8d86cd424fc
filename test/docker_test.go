package test

import (
	"errors"
	"os/exec"
)

// lookDocker finds the docker CLI, which this machine kind ships.
func lookDocker() (string, error) {
	p, err := exec.LookPath("docker")
	if err != nil {
		return "", errors.New("the docker CLI is not installed: the compatibility tests need it")
	}
	return p, nil
}
