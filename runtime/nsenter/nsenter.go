// Package nsenter joins a running container's namespaces before the Go
// runtime starts: Go cannot setns into a mount namespace once it has
// threads, so a C constructor does it, as runc's nsexec does. Import it
// for its side effect from the main package.
package nsenter

/*
#cgo CFLAGS: -Wall
extern void skiff_nsenter(void);
void __attribute__((constructor)) init_nsenter(void) {
	skiff_nsenter();
}
*/
import "C"

// EnvPID names the environment variable that holds the PID of the
// container process whose namespaces to join. Unset means nothing happens.
const EnvPID = "_SKIFF_NSENTER_PID"
