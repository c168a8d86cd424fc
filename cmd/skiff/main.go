// Command skiff is a Docker-compatible container engine that runs without
// root: the CLI, the engine (`skiff engine`) and the engine's helper
// processes are this one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skiff-dev/skiff/cli"
	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/runtime"
	_ "github.com/skiff-dev/skiff/runtime/nsenter" // joins a container's namespaces for exec
	"github.com/skiff-dev/skiff/userns"
	"github.com/spf13/pflag"
	"go.podman.io/storage/pkg/reexec"
)

// command is one skiff verb.
type command struct {
	usage string // after "skiff "
	short string
	run   func(ctx context.Context, fs *pflag.FlagSet, args []string) error
	flags func(fs *pflag.FlagSet)
	// interspersed=false stops flag parsing at the first argument (run).
	noInterspersed bool
	minArgs        int
	maxArgs        int // -1: any
}

var commands = map[string]*command{}

func register(name string, c *command) { commands[name] = c }

func main() {
	// Nothing this process inherited beyond stdio may reach the processes
	// it starts (above all a container's): fds meant for a helper are
	// read by it in-process, and fds skiff hands over are passed on
	// purpose (ExtraFiles). rootlesskit's child is the exception: it
	// passes its pipes on across exec, and its parent (an engine that did
	// this) gave it nothing else.
	if !userns.IsChild() {
		if err := runtime.CloseExecFrom(3); err != nil {
			fmt.Fprintln(os.Stderr, "skiff:", err)
			os.Exit(125)
		}
	}
	// containers/storage re-executes this binary to unpack layers in a chroot.
	if reexec.Init() {
		return
	}
	switch argv0 := filepath.Base(os.Args[0]); {
	case userns.IsUnshare(argv0):
		os.Exit(userns.UnshareMain(os.Args[1:]))
	case userns.IsGetsubids(argv0):
		os.Exit(userns.GetsubidsMain(os.Args[1:], os.Stdout))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 {
		// The engine's helper processes.
		switch args[0] {
		case "__monitor":
			if err := runtime.RunMonitor(args[1]); err != nil {
				fmt.Fprintln(os.Stderr, "skiff monitor:", err)
				return 1
			}
			return 0
		case "__init":
			err := runtime.RunInit(args[1])
			fmt.Fprintln(os.Stderr, "skiff init:", err)
			return 127
		case "__exec":
			err := runtime.RunExec()
			fmt.Fprintln(os.Stderr, "skiff exec:", err)
			return 126
		case "engine":
			if err := engine.Main(args); err != nil {
				fmt.Fprintln(os.Stderr, "skiff engine:", err)
				return 1
			}
			return 0
		}
	}
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		printUsage()
		return 0
	}
	if args[0] == "--version" || args[0] == "-v" {
		fmt.Printf("skiff version %s\n", engine.Version)
		return 0
	}
	name := args[0]
	args = args[1:]
	// Management commands: "skiff image ls" is "skiff images".
	if group, ok := groups[name]; ok {
		if len(args) == 0 {
			fmt.Fprintf(os.Stderr, "Usage:  skiff %s COMMAND\n", name)
			return 1
		}
		sub, ok := group[args[0]]
		if !ok {
			fmt.Fprintf(os.Stderr, "skiff: '%s %s' is not a skiff command.\nSee 'skiff --help'\n", name, args[0])
			return 1
		}
		name, args = sub, args[1:]
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "skiff: '%s' is not a skiff command.\nSee 'skiff --help'\n", name)
		return 1
	}
	return execute(name, c, args)
}

// groups map management commands to the flat verbs.
var groups = map[string]map[string]string{
	"image": {"ls": "images", "list": "images", "rm": "rmi", "remove": "rmi", "tag": "tag", "inspect": "image-inspect",
		"history": "history", "prune": "image-prune", "pull": "pull", "load": "load"},
	"system": {"cgroup-setup": "system-cgroup-setup", "info": "info"},
	"network": {"create": "network-create", "ls": "network-ls", "list": "network-ls", "inspect": "network-inspect",
		"rm": "network-rm", "remove": "network-rm", "prune": "network-prune", "connect": "network-connect",
		"disconnect": "network-disconnect"},
	"volume": {"create": "volume-create", "ls": "volume-ls", "list": "volume-ls", "inspect": "volume-inspect",
		"rm": "volume-rm", "remove": "volume-rm", "prune": "volume-prune"},
	"container": {"ls": "ps", "list": "ps", "ps": "ps", "rm": "rm", "remove": "rm", "run": "run", "create": "create",
		"start": "start", "stop": "stop", "kill": "kill", "logs": "logs", "wait": "wait", "inspect": "container-inspect",
		"prune": "container-prune", "exec": "exec", "attach": "attach", "restart": "restart", "rename": "rename",
		"top": "top", "port": "port", "pause": "pause", "unpause": "unpause", "update": "update", "stats": "stats"},
}

func execute(name string, c *command, args []string) int {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetInterspersed(!c.noInterspersed)
	fs.Usage = func() {}
	help := fs.Bool("help", false, "Print usage")
	if c.flags != nil {
		c.flags(fs)
	}
	display := strings.ReplaceAll(name, "-", " ")
	if err := fs.Parse(args); err != nil {
		// As docker 28: the error, the usage line, and 125.
		fmt.Fprintf(os.Stderr, "%s\n\nUsage:  skiff %s\n\nRun 'skiff %s --help' for more information\n", err, c.usage, display)
		return 125
	}
	if *help {
		fmt.Printf("\nUsage:  skiff %s\n\n%s\n\nOptions:\n%s", c.usage, c.short, fs.FlagUsages())
		return 0
	}
	rest := fs.Args()
	if len(rest) < c.minArgs || (c.maxArgs >= 0 && len(rest) > c.maxArgs) {
		want := fmt.Sprintf("at least %d argument", c.minArgs)
		if c.maxArgs == c.minArgs {
			want = fmt.Sprintf("exactly %d argument", c.minArgs)
		} else if c.maxArgs >= 0 && len(rest) > c.maxArgs {
			want = fmt.Sprintf("at most %d argument", c.maxArgs)
		}
		if !strings.HasSuffix(want, "1 argument") && !strings.HasSuffix(want, "0 argument") {
			want += "s"
		}
		// As docker 28 (which exits 1 here, even for run).
		fmt.Fprintf(os.Stderr, "skiff: 'skiff %s' requires %s\n\nUsage:  skiff %s\n\nSee 'skiff %s --help' for more information\n", display, want, c.usage, display)
		return 1
	}
	ctx := context.Background()
	err := c.run(ctx, fs, rest)
	if err == nil {
		return 0
	}
	var fe *cli.FlagError
	if errors.As(err, &fe) {
		fmt.Fprintf(os.Stderr, "%s\n\nUsage:  skiff %s\n\nRun 'skiff %s --help' for more information\n", fe, c.usage, display)
		return 125
	}
	var se *cli.StatusError
	if errors.As(err, &se) {
		if se.Msg != "" {
			if name == "run" || name == "create" {
				fmt.Fprintf(os.Stderr, "skiff: %s\n\nRun 'skiff %s --help' for more information\n", se.Msg, name)
			} else {
				fmt.Fprintln(os.Stderr, se.Msg)
			}
		}
		return se.Code
	}
	if name == "run" || name == "create" {
		fmt.Fprintf(os.Stderr, "skiff: %s\n\nRun 'skiff %s --help' for more information\n", err, name)
		return 125
	}
	fmt.Fprintln(os.Stderr, err)
	return 1
}

func printUsage() {
	fmt.Println("\nUsage:  skiff [OPTIONS] COMMAND\n\nA Docker-compatible container engine that runs without root\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		if !strings.Contains(n, "-") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("  %-10s %s\n", n, commands[n].short)
	}
	fmt.Println("\nManagement Commands:\n  container  Manage containers\n  image      Manage images\n  network    Manage networks\n  volume     Manage volumes")
	fmt.Println("\nRun 'skiff COMMAND --help' for more information on a command.")
}

// connect opens the engine connection, starting the engine if needed.
func connect(ctx context.Context) (*cli.CLI, error) {
	return cli.New(ctx)
}
