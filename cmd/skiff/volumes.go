package main

import (
	"context"

	"github.com/skiff-dev/skiff/cli"
	"github.com/spf13/pflag"
)

func init() {
	var name, driver string
	var labels, opts []string
	register("volume-create", &command{
		usage: "volume create [OPTIONS] [VOLUME]", short: "Create a volume", maxArgs: 1,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&name, "name", "", "Specify volume name")
			hide(fs, "name")
			fs.StringVarP(&driver, "driver", "d", "local", "Specify volume driver name")
			fs.StringArrayVarP(&labels, "label", "l", nil, "Set metadata for a volume")
			fs.StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			n := name
			if len(args) == 1 {
				if n != "" && n != args[0] {
					return &cli.StatusError{Code: 1, Msg: "conflicting options: either specify --name or provide positional arg, not both"}
				}
				n = args[0]
			}
			return c.VolumeCreate(ctx, n, driver, labels, opts)
		}),
	})

	var quiet bool
	var filters []string
	var lsFormat string
	register("volume-ls", &command{
		usage: "volume ls [OPTIONS]", short: "List volumes", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
			fs.StringArrayVarP(&filters, "filter", "f", nil, "Provide filter values (e.g. \"dangling=true\")")
			fs.StringVar(&lsFormat, "format", "", "Format output using a custom template")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error {
			return c.VolumeLs(ctx, quiet, filters, lsFormat)
		}),
	})

	var format string
	register("volume-inspect", &command{
		usage: "volume inspect [OPTIONS] VOLUME [VOLUME...]", short: "Display detailed information on one or more volumes",
		minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&format, "format", "f", "", "Format output using a custom template")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.VolumeInspect(ctx, args, format) }),
	})

	var force bool
	register("volume-rm", &command{
		usage: "volume rm [OPTIONS] VOLUME [VOLUME...]", short: "Remove one or more volumes", minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.VolumeRm(ctx, args, force) }),
	})

	var all, pruneForce bool
	register("volume-prune", &command{
		usage: "volume prune [OPTIONS]", short: "Remove unused local volumes", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
			fs.BoolVarP(&pruneForce, "force", "f", false, "Do not prompt for confirmation")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error {
			warning := "This will remove anonymous local volumes not used by at least one container."
			if all {
				warning = "This will remove all local volumes not used by at least one container."
			}
			if !confirm(pruneForce, warning) {
				return nil
			}
			return c.VolumePrune(ctx, all)
		}),
	})

	var unshareNet bool
	register("unshare", &command{
		usage: "unshare [OPTIONS] [COMMAND [ARG...]]", short: "Run a command in skiff's user namespace (rootless)",
		noInterspersed: true, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&unshareNet, "net", false, "Also enter the network namespace of skiff's bridges (rootless)")
		},
		run: func(_ context.Context, _ *pflag.FlagSet, args []string) error { return cli.Unshare(args, unshareNet) },
	})
}
