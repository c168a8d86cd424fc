package main

import (
	"context"
	"strings"

	"github.com/skiff-dev/skiff/cli"
	"github.com/spf13/pflag"
)

func init() {
	var xo cli.ExecOptions
	register("exec", &command{
		usage: "exec [OPTIONS] CONTAINER COMMAND [ARG...]", short: "Execute a command in a running container",
		noInterspersed: true, minArgs: 2, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVarP(&xo.Detach, "detach", "d", false, "Detached mode: run command in the background")
			fs.BoolVarP(&xo.Interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
			fs.BoolVarP(&xo.Tty, "tty", "t", false, "Allocate a pseudo-TTY")
			fs.BoolVar(&xo.Privileged, "privileged", false, "Give extended privileges to the command")
			fs.StringVarP(&xo.User, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
			fs.StringVarP(&xo.Workdir, "workdir", "w", "", "Working directory inside the container")
			fs.StringVar(&xo.DetachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
			fs.StringArrayVarP(&xo.Env, "env", "e", nil, "Set environment variables")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			var env []string
			for _, e := range xo.Env {
				vars, err := expandEnv(e)
				if err != nil {
					return err
				}
				env = append(env, vars...)
			}
			xo.Env = env
			return c.Exec(ctx, args[0], args[1:], xo)
		}),
	})

	var noStdin bool
	var attachKeys string
	register("attach", &command{
		usage: "attach [OPTIONS] CONTAINER", short: "Attach local standard input, output, and error streams to a running container",
		minArgs: 1, maxArgs: 1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
			fs.StringVar(&attachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
			fs.Bool("sig-proxy", true, "Proxy all received signals to the process")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			return c.Attach(ctx, args[0], noStdin, attachKeys)
		}),
	})

	register("restart", stopCommand("restart", "Restart one or more containers",
		func(ctx context.Context, c *cli.CLI, args []string, t *int, sig string) error {
			return c.Restart(ctx, args, t, sig)
		}))

	register("rename", &command{
		usage: "rename CONTAINER NEW_NAME", short: "Rename a container", minArgs: 2, maxArgs: 2,
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Rename(ctx, args[0], args[1]) }),
	})

	register("top", &command{
		usage: "top CONTAINER [ps OPTIONS]", short: "Display the running processes of a container",
		noInterspersed: true, minArgs: 1, maxArgs: -1,
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			return c.Top(ctx, args[0], strings.Join(args[1:], " "))
		}),
	})

	register("port", &command{
		usage: "port CONTAINER [PRIVATE_PORT[/PROTO]]", short: "List port mappings or a specific mapping for the container",
		minArgs: 1, maxArgs: 2,
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			filter := ""
			if len(args) == 2 {
				filter = args[1]
			}
			return c.Port(ctx, args[0], filter)
		}),
	})
}
