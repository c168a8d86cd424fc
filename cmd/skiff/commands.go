package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/skiff-dev/skiff/cli"
	"github.com/skiff-dev/skiff/engine"
	"github.com/spf13/pflag"
)

// withCLI wraps a command body that needs the engine.
func withCLI(fn func(ctx context.Context, c *cli.CLI, args []string) error) func(context.Context, *pflag.FlagSet, []string) error {
	return func(ctx context.Context, _ *pflag.FlagSet, args []string) error {
		c, err := connect(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, c, args)
	}
}

// confirm asks docker's prune question; force skips it.
func confirm(force bool, warning string) bool {
	if force {
		return true
	}
	fmt.Printf("WARNING! %s\nAre you sure you want to continue? [y/N] ", warning)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	line = strings.TrimSpace(strings.ToLower(line))
	return line == "y" || line == "yes"
}

func init() {
	var ps cli.PsOptions
	var latest bool
	register("ps", &command{
		usage: "ps [OPTIONS]", short: "List containers", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&ps.All, "all", "a", false, "Show all containers (default shows just running)")
			fs.BoolVarP(&ps.Quiet, "quiet", "q", false, "Only display container IDs")
			fs.BoolVar(&ps.NoTrunc, "no-trunc", false, "Don't truncate output")
			fs.IntVarP(&ps.Last, "last", "n", -1, "Show n last created containers (includes all states)")
			fs.BoolVarP(&latest, "latest", "l", false, "Show the latest created container (includes all states)")
			fs.StringArrayVarP(&ps.Filters, "filter", "f", nil, "Filter output based on conditions provided")
			fs.StringVar(&ps.Format, "format", "", "Format output using a custom template")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error {
			if latest {
				ps.Last = 1
			}
			return c.Ps(ctx, ps)
		}),
	})

	var force, volumes bool
	register("rm", &command{
		usage: "rm [OPTIONS] CONTAINER [CONTAINER...]", short: "Remove one or more containers", minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
			fs.BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Rm(ctx, args, force, volumes) }),
	})

	var attach, interactive bool
	var startKeys string
	register("start", &command{
		usage: "start [OPTIONS] CONTAINER [CONTAINER...]", short: "Start one or more stopped containers", minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
			fs.BoolVarP(&interactive, "interactive", "i", false, "Attach container's STDIN")
			fs.StringVar(&startKeys, "detach-keys", "", "Override the key sequence for detaching a container")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			return c.Start(ctx, args, attach, interactive, startKeys)
		}),
	})

	register("stop", stopCommand("stop", "Stop one or more running containers",
		func(ctx context.Context, c *cli.CLI, args []string, t *int, sig string) error {
			return c.Stop(ctx, args, t, sig)
		}))

	var killSig string
	register("kill", &command{
		usage: "kill [OPTIONS] CONTAINER [CONTAINER...]", short: "Kill one or more running containers", minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&killSig, "signal", "s", "", "Signal to send to the container")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Kill(ctx, args, killSig) }),
	})

	register("wait", &command{
		usage: "wait CONTAINER [CONTAINER...]", short: "Block until one or more containers stop, then print their exit codes",
		minArgs: 1, maxArgs: -1,
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Wait(ctx, args) }),
	})

	var eo cli.EventsOptions
	register("events", &command{
		usage: "events [OPTIONS]", short: "Get real time events from the server", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.StringArrayVarP(&eo.Filters, "filter", "f", nil, "Filter output based on conditions provided")
			fs.StringVar(&eo.Format, "format", "", "Format output using a custom template")
			fs.StringVar(&eo.Since, "since", "", "Show all events created since timestamp")
			fs.StringVar(&eo.Until, "until", "", "Stream events until this timestamp")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error { return c.Events(ctx, eo) }),
	})

	var lo cli.LogsOptions
	register("logs", &command{
		usage: "logs [OPTIONS] CONTAINER", short: "Fetch the logs of a container", minArgs: 1, maxArgs: 1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&lo.Follow, "follow", "f", false, "Follow log output")
			fs.BoolVarP(&lo.Timestamps, "timestamps", "t", false, "Show timestamps")
			fs.BoolVar(&lo.Details, "details", false, "Show extra details provided to logs")
			fs.StringVarP(&lo.Tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
			fs.StringVar(&lo.Since, "since", "", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
			fs.StringVar(&lo.Until, "until", "", "Show logs before a timestamp or relative")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Logs(ctx, args[0], lo) }),
	})

	inspect := func(kind string) *command {
		var format, typ string
		return &command{
			usage: "inspect [OPTIONS] NAME|ID [NAME|ID...]", short: "Return low-level information on objects", minArgs: 1, maxArgs: -1,
			flags: func(fs *pflag.FlagSet) {
				fs.StringVarP(&format, "format", "f", "", "Format output using a custom template")
				if kind == "" {
					fs.StringVar(&typ, "type", "", "Only inspect objects of the given type")
				}
			},
			run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
				k := kind
				if k == "" {
					k = typ
				}
				return c.Inspect(ctx, args, k, format)
			}),
		}
	}
	register("inspect", inspect(""))
	register("container-inspect", inspect("container"))
	register("image-inspect", inspect("image"))

	var pruneForce bool
	register("container-prune", &command{
		usage: "container prune [OPTIONS]", short: "Remove all stopped containers", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&pruneForce, "force", "f", false, "Do not prompt for confirmation")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error {
			if !confirm(pruneForce, "This will remove all stopped containers.") {
				return nil
			}
			return c.ContainerPrune(ctx)
		}),
	})

	register("pull", &command{
		usage: "pull [OPTIONS] NAME[:TAG|@DIGEST]", short: "Download an image from a registry", minArgs: 1, maxArgs: 1,
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Pull(ctx, args[0], c.Out) }),
	})

	var io cli.ImagesOptions
	register("images", &command{
		usage: "images [OPTIONS] [REPOSITORY[:TAG]]", short: "List images", maxArgs: 1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&io.All, "all", "a", false, "Show all images (default hides intermediate images)")
			fs.BoolVarP(&io.Quiet, "quiet", "q", false, "Only show image IDs")
			fs.BoolVar(&io.NoTrunc, "no-trunc", false, "Don't truncate output")
			fs.BoolVar(&io.Digests, "digests", false, "Show digests")
			fs.StringArrayVarP(&io.Filters, "filter", "f", nil, "Filter output based on conditions provided")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			if len(args) == 1 {
				io.Repository = args[0]
			}
			return c.Images(ctx, io)
		}),
	})

	var rmiForce bool
	register("rmi", &command{
		usage: "rmi [OPTIONS] IMAGE [IMAGE...]", short: "Remove one or more images", minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) { fs.BoolVarP(&rmiForce, "force", "f", false, "Force removal of the image") },
		run:   withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Rmi(ctx, args, rmiForce) }),
	})

	register("tag", &command{
		usage: "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		minArgs: 2, maxArgs: 2,
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Tag(ctx, args[0], args[1]) }),
	})

	var histNoTrunc, histQuiet bool
	register("history", &command{
		usage: "history [OPTIONS] IMAGE", short: "Show the history of an image", minArgs: 1, maxArgs: 1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&histNoTrunc, "no-trunc", false, "Don't truncate output")
			fs.BoolVarP(&histQuiet, "quiet", "q", false, "Only show image IDs")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			return c.History(ctx, args[0], histNoTrunc, histQuiet)
		}),
	})

	var imgPruneAll, imgPruneForce bool
	register("image-prune", &command{
		usage: "image prune [OPTIONS]", short: "Remove unused images", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&imgPruneAll, "all", "a", false, "Remove all unused images, not just dangling ones")
			fs.BoolVarP(&imgPruneForce, "force", "f", false, "Do not prompt for confirmation")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error {
			warning := "This will remove all dangling images."
			if imgPruneAll {
				warning = "This will remove all images without at least one container associated to them."
			}
			if !confirm(imgPruneForce, warning) {
				return nil
			}
			return c.ImagePrune(ctx, imgPruneAll)
		}),
	})

	var loadInput string
	var loadQuiet bool
	register("load", &command{
		usage: "load [OPTIONS]", short: "Load an image from a tar archive or STDIN", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&loadInput, "input", "i", "", "Read from tar archive file, instead of STDIN")
			fs.BoolVarP(&loadQuiet, "quiet", "q", false, "Suppress the load output")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error { return c.Load(ctx, loadInput, loadQuiet) }),
	})

	register("version", &command{
		usage: "version", short: "Show the skiff version information", maxArgs: 0,
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error { return c.Version(ctx, engine.Version) }),
	})
	register("info", &command{
		usage: "info", short: "Display system-wide information", maxArgs: 0,
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error { return c.Info(ctx) }),
	})
}

// stopCommand is stop or restart: -t/--time and -s/--signal, then action.
func stopCommand(verb, short string, action func(ctx context.Context, c *cli.CLI, args []string, t *int, sig string) error) *command {
	var seconds int
	var sig string
	return &command{
		usage: verb + " [OPTIONS] CONTAINER [CONTAINER...]", short: short, minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.IntVarP(&seconds, "time", "t", -1, "Seconds to wait before killing the container")
			fs.StringVarP(&sig, "signal", "s", "", "Signal to send to the container")
		},
		run: func(ctx context.Context, fs *pflag.FlagSet, args []string) error {
			c, err := connect(ctx)
			if err != nil {
				return err
			}
			var t *int
			if fs.Changed("time") {
				t = &seconds
			}
			return action(ctx, c, args, t, sig)
		},
	}
}

// hide keeps a registered flag out of the help (an alias Docker keeps
// for old scripts).
func hide(fs *pflag.FlagSet, name string) {
	if err := fs.MarkHidden(name); err != nil {
		panic(err) // the flag is not registered: skiff's bug
	}
}
