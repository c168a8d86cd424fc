package userns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// IsGetsubids reports whether this process runs as skiff's own
// getsubids(1), which the engine gives rootlesskit when the user lacks a
// subordinate id range, so that only the user's own id gets mapped.
func IsGetsubids(argv0 string) bool { return argv0 == "getsubids" }

// GetsubidsMain prints the ranges of /etc/subuid (or /etc/subgid with -g)
// for a user name or uid in getsubids' format ("0: name start count").
// A user with no range gets no lines, which is not an error here.
func GetsubidsMain(args []string, out io.Writer) int {
	file := "/etc/subuid"
	if len(args) > 0 && args[0] == "-g" {
		file, args = "/etc/subgid", args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: getsubids [-g] USER")
		return 1
	}
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) == 3 && parts[0] == args[0] {
			fmt.Fprintf(out, "%d: %s %s %s\n", n, parts[0], parts[1], parts[2])
			n++
		}
	}
	return 0
}
