// Joins the namespaces of the process named by _SKIFF_NSENTER_PID before
// the Go runtime starts (it cannot setns into a mount namespace later).
// The pid namespace applies to children only, so it forks: the parent
// waits and passes on the child's exit status; the child goes on into Go.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *ns) {
	fprintf(stderr, "skiff nsenter: %s %s: %s\n", what, ns, strerror(errno));
	_exit(126);
}

void skiff_nsenter(void) {
	const char *pid = getenv("_SKIFF_NSENTER_PID");
	if (pid == NULL || *pid == '\0') {
		return;
	}
	// mnt last: it changes what /proc and paths mean.
	static const char *names[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt"};
	int fds[6];
	for (int i = 0; i < 6; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, names[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			die("opening", path);
		}
	}
	for (int i = 0; i < 6; i++) {
		// A namespace the container shares with us needs no setns (and a
		// rootless process may not setns into one its user ns does not own).
		char self[64];
		struct stat a, b;
		snprintf(self, sizeof(self), "/proc/self/ns/%s", names[i]);
		if (stat(self, &a) == 0 && fstat(fds[i], &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			close(fds[i]);
			continue;
		}
		if (setns(fds[i], 0) < 0) {
			die("joining namespace", names[i]);
		}
		close(fds[i]);
	}
	pid_t child = fork();
	if (child < 0) {
		die("fork", "");
	}
	if (child == 0) {
		unsetenv("_SKIFF_NSENTER_PID");
		return;
	}
	// The parent only waits: it must not hold the child's pipes open
	// (the monitor reads EOF on them to learn that the child exec'd).
	for (int fd = 0; fd < 1024; fd++) {
		close(fd);
	}
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			_exit(126);
		}
	}
	if (WIFEXITED(status)) {
		_exit(WEXITSTATUS(status));
	}
	_exit(128 + WTERMSIG(status));
}
