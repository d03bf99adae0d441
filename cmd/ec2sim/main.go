// Command ec2sim brings up emulated EC2 labs — instances as network namespaces behind a userspace
// VPC fabric that enforces AWS's data-plane rules on real packets — and runs scenario suites
// against them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string // the synopsis and examples shown by --help
	run     func(args []string) error
}

// exitError carries an exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// extraCommands are added by the files of later subcommands from init.
var extraCommands []*command

func commands() []*command {
	return append([]*command{upCmd, downCmd, statusCmd, execCmd, setCmd, testCmd}, append(extraCommands, engineCmd)...)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			if c := find(args[1]); c != nil {
				fmt.Fprint(stdout, c.usage)
				return 0
			}
		}
		topUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "ec2sim: unknown command %q\n\n", args[0])
		topUsage(stderr)
		return 2
	}
	err := c.run(args[1:])
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stderr, "ec2sim %s: %v\n", c.name, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "ec2sim %s: %v\n", c.name, err)
	return 1
}

func find(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func topUsage(w io.Writer) {
	fmt.Fprint(w, `ec2sim emulates the EC2 network fabric on this machine: instances are network namespaces,
and a userspace engine between them enforces AWS's data-plane rules on real packets.

Usage: ec2sim COMMAND [ARGS]

Commands:
`)
	for _, c := range commands() {
		if c.summary != "" {
			fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprint(w, `
Run 'ec2sim COMMAND --help' for a command's flags and examples. Commands that change the machine
need root.
`)
}

// newFlags makes a FlagSet whose --help prints the command's usage.
func newFlags(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprint(os.Stdout, c.usage)
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(os.Stderr)
		if b.Len() > 0 {
			fmt.Fprintf(os.Stdout, "\nFlags:\n%s", b.String())
		}
	}
	return fs
}

// parse parses flags that may stand before, between or after the positional arguments (so that
// `ec2sim up lab.yaml --name x` works). Everything after a literal "--" is returned untouched as
// rest (the command of `exec`).
func parse(fs *flag.FlagSet, args []string) (pos, rest []string, err error) {
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, rest, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func needRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("this command creates network namespaces and TAP devices and must run as root (try sudo)")
	}
	return nil
}
