package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeHealthyDependency: docker compose's depends_on with
// condition service_healthy waits for the dependency's healthcheck
// (docker-compose 1.29 refused it before skiff had healthchecks: "container
// has no healthcheck configured").
func TestComposeHealthyDependency(t *testing.T) {
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed (hack/setup.sh installs Debian's docker-compose)")
	}
	forEachMode(t, func(t *testing.T, e *env) {
		dir := e.hostDir(t, "compose-health")
		file := `version: "2.4"
services:
  db:
    image: ` + busyboxRef + `
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
  app:
    image: ` + busyboxRef + `
    command: ["sh", "-c", "echo app-started"]
    depends_on:
      db:
        condition: service_healthy
`
		path := filepath.Join(dir, "docker-compose.yml")
		if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		d := e.dockerEnv()
		t.Cleanup(func() { d.run(t, nil, compose, "-f", path, "-p", "skhealth", "down", "-t", "0") })
		r := d.run(t, nil, compose, "-f", path, "-p", "skhealth", "up", "-d")
		if r.code != 0 {
			t.Fatalf("docker-compose up: %s", r)
		}
		status := strings.TrimSpace(e.mustSkiff(t, "inspect", "-f", "{{.State.Health.Status}}", "skhealth_db_1"))
		if status != "healthy" {
			t.Errorf("app started while db was %q", status)
		}
		logs := d.run(t, nil, compose, "-f", path, "-p", "skhealth", "logs", "app")
		if !strings.Contains(logs.stdout, "app-started") {
			t.Errorf("app did not run: %s", logs)
		}
	})
}
