package main

import (
	"context"

	"github.com/skiff-dev/skiff/cli"
	"github.com/spf13/pflag"
)

func init() {
	var co cli.NetworkCreateOptions
	var ipv4, ipv6 bool
	register("network-create", &command{
		usage: "network create [OPTIONS] NETWORK", short: "Create a network", minArgs: 1, maxArgs: 1,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&co.Driver, "driver", "d", "bridge", "Driver to manage the Network")
			fs.StringArrayVarP(&co.Options, "opt", "o", nil, "Set driver specific options")
			fs.StringArrayVar(&co.Labels, "label", nil, "Set metadata on a network")
			fs.BoolVar(&co.Internal, "internal", false, "Restrict external access to the network")
			fs.BoolVar(&ipv4, "ipv4", true, "Enable or disable IPv4 address assignment")
			fs.BoolVar(&ipv6, "ipv6", false, "Enable or disable IPv6 address assignment")
			fs.BoolVar(&co.Attachable, "attachable", false, "Enable manual container attachment")
			fs.BoolVar(&co.Ingress, "ingress", false, "Create swarm routing-mesh network")
			fs.StringVar(&co.Scope, "scope", "", "Control the network's scope")
			fs.BoolVar(&co.ConfigOnly, "config-only", false, "Create a configuration only network")
			fs.StringVar(&co.ConfigFrom, "config-from", "", "The network from which to copy the configuration")
			fs.StringVar(&co.IPAMDriver, "ipam-driver", "default", "IP Address Management Driver")
			fs.StringSliceVar(&co.Subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment")
			fs.StringSliceVar(&co.IPRanges, "ip-range", nil, "Allocate container ip from a sub-range")
			fs.StringSliceVar(&co.Gateways, "gateway", nil, "IPv4 or IPv6 Gateway for the master subnet")
			fs.StringArrayVar(&co.AuxAddresses, "aux-address", nil, "Auxiliary IPv4 or IPv6 addresses used by Network driver")
			fs.StringArrayVar(&co.IPAMOptions, "ipam-opt", nil, "Set IPAM driver specific options")
		},
		run: func(ctx context.Context, fs *pflag.FlagSet, args []string) error {
			if fs.Changed("ipv4") {
				co.IPv4 = &ipv4
			}
			if fs.Changed("ipv6") {
				co.IPv6 = &ipv6
			}
			req, err := co.Request()
			if err != nil {
				return err
			}
			c, err := connect(ctx)
			if err != nil {
				return err
			}
			return c.NetworkCreate(ctx, args[0], req)
		},
	})

	var lo cli.NetworkLsOptions
	register("network-ls", &command{
		usage: "network ls [OPTIONS]", short: "List networks", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&lo.Quiet, "quiet", "q", false, "Only display network IDs")
			fs.BoolVar(&lo.NoTrunc, "no-trunc", false, "Do not truncate the output")
			fs.StringVar(&lo.Format, "format", "", "Format output using a custom template")
			fs.StringArrayVarP(&lo.Filters, "filter", "f", nil, "Provide filter values (e.g. \"driver=bridge\")")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error { return c.NetworkLs(ctx, lo) }),
	})

	var inspectFormat string
	var verbose bool
	register("network-inspect", &command{
		usage: "network inspect [OPTIONS] NETWORK [NETWORK...]", short: "Display detailed information on one or more networks",
		minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&inspectFormat, "format", "f", "", "Format output using a custom template")
			fs.BoolVarP(&verbose, "verbose", "v", false, "Verbose output for diagnostics")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			return c.NetworkInspect(ctx, args, inspectFormat, verbose)
		}),
	})

	var rmForce bool
	register("network-rm", &command{
		usage: "network rm NETWORK [NETWORK...]", short: "Remove one or more networks", minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&rmForce, "force", "f", false, "Do not error if the network does not exist")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.NetworkRm(ctx, args, rmForce) }),
	})

	var pruneForce bool
	var pruneFilters []string
	register("network-prune", &command{
		usage: "network prune [OPTIONS]", short: "Remove all unused networks", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&pruneForce, "force", "f", false, "Do not prompt for confirmation")
			fs.StringArrayVar(&pruneFilters, "filter", nil, "Provide filter values (e.g. \"until=<timestamp>\")")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, _ []string) error {
			if !confirm(pruneForce, "This will remove all custom networks not used by at least one container.") {
				return nil
			}
			return c.NetworkPrune(ctx, pruneFilters)
		}),
	})

	var cno cli.NetworkConnectOptions
	register("network-connect", &command{
		usage: "network connect [OPTIONS] NETWORK CONTAINER", short: "Connect a container to a network",
		minArgs: 2, maxArgs: 2,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&cno.IPv4, "ip", "", "IPv4 address (e.g., \"172.30.100.104\")")
			fs.StringVar(&cno.IPv6, "ip6", "", "IPv6 address (e.g., \"2001:db8::33\")")
			fs.StringArrayVar(&cno.Links, "link", nil, "Add link to another container")
			fs.StringSliceVar(&cno.Aliases, "alias", nil, "Add network-scoped alias for the container")
			fs.StringSliceVar(&cno.LinkLocalIPs, "link-local-ip", nil, "Add a link-local address for the container")
			fs.StringSliceVar(&cno.DriverOpts, "driver-opt", nil, "driver options for the network")
			fs.IntVar(&cno.GwPriority, "gw-priority", 0, "Highest gw-priority provides the default gateway. Accepts positive and negative values.")
		},
		run: func(ctx context.Context, _ *pflag.FlagSet, args []string) error {
			ep, err := cno.Endpoint()
			if err != nil {
				return err
			}
			c, err := connect(ctx)
			if err != nil {
				return err
			}
			return c.NetworkConnect(ctx, args[0], args[1], ep)
		},
	})

	var disconnectForce bool
	register("network-disconnect", &command{
		usage: "network disconnect [OPTIONS] NETWORK CONTAINER", short: "Disconnect a container from a network",
		minArgs: 2, maxArgs: 2,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&disconnectForce, "force", "f", false, "Force the container to disconnect from a network")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			return c.NetworkDisconnect(ctx, args[0], args[1], disconnectForce)
		}),
	})
}
