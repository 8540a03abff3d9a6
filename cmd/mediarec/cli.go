package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// The exit codes of the user commands, which scripts can rely on; main's
// usage text lists them.
const (
	exitOK        = 0
	exitFailed    = 1 // the server refused or failed, or could not be reached
	exitUsage     = 2
	exitSignedOut = 3 // not signed in, or the token expired (401)
	exitNotFound  = 4 // 404
)

const (
	defaultServer = "http://127.0.0.1:8080"
	exitCodesHelp = "\nExit codes: 0 ok, 1 the server refused or failed, 2 bad usage,\n3 not signed in or the token expired, 4 not found.\n"
	signInHint    = `run "mediarec login"`
)

// signedOut is an error that means exit 3 without a server's answer.
type signedOut struct{ msg string }

func (e signedOut) Error() string { return e.msg }

// cli is what the commands of a signed-in user share: their flags, where
// they find the server and the token, and how they print.
type cli struct {
	name, args     string
	fs             *flag.FlagSet
	getenv         func(string) string
	stdout, stderr io.Writer
	server         *string
	json           *bool
	token          *string // nil for the commands that need none
}

// newCLI returns a command with --server and --json (logout has neither).
func newCLI(name, args string, getenv func(string) string, stdout, stderr io.Writer) *cli {
	fs := flag.NewFlagSet("mediarec "+name, flag.ContinueOnError)
	// Parse errors are printed on one line by parse, help by usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c := &cli{name: name, args: args, fs: fs, getenv: getenv, stdout: stdout, stderr: stderr}
	if name == "logout" {
		return c
	}
	c.server = fs.String("server", "", "base URL of the server (default MEDIAREC_SERVER, else the one signed in to, else "+defaultServer+")")
	c.json = fs.Bool("json", false, "print the server's JSON answer unchanged")
	return c
}

// withToken adds --token to a command that acts as the signed-in user.
func (c *cli) withToken() *cli {
	// Not defaulted to MEDIAREC_TOKEN here, which -h would print.
	c.token = c.fs.String("token", "", "bearer token (default MEDIAREC_TOKEN, else the one stored by login)")
	return c
}

// parse reads flags wherever they are among args ("similar 42 --limit 5"),
// up to a "--", and returns the other arguments. ok false: exit with code.
func (c *cli) parse(args []string) (pos []string, code int, ok bool) {
	for {
		if err := c.fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			c.fs.SetOutput(c.stdout)
			fmt.Fprintf(c.stdout, "Usage: mediarec %s [flags] %s\n\n", c.name, c.args)
			c.fs.PrintDefaults()
			fmt.Fprint(c.stdout, exitCodesHelp)
			return nil, exitOK, false
		} else if err != nil {
			return nil, c.usage(err.Error()), false
		}
		rest := c.fs.Args()
		if n := len(args) - len(rest); len(rest) == 0 || (n > 0 && args[n-1] == "--") {
			return append(pos, rest...), 0, true
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// usage reports bad usage on one line and returns its exit code.
func (c *cli) usage(problem string) int {
	fmt.Fprintf(c.stderr, "mediarec %s: %s (usage: mediarec %s [flags] %s; -h for the flags)\n", c.name, problem, c.name, c.args)
	return exitUsage
}

// fail reports err on one line and returns its exit code.
func (c *cli) fail(err error) int {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	var aerr *apiError
	var serr signedOut
	code := exitFailed
	switch {
	case errors.As(err, &serr):
		code = exitSignedOut
	case errors.As(err, &aerr) && aerr.Status == 401:
		code = exitSignedOut
		if c.name != "login" {
			msg += " (" + signInHint + ")"
		}
	case errors.As(err, &aerr) && aerr.Status == 404:
		code = exitNotFound
	}
	fmt.Fprintf(c.stderr, "mediarec %s: %s\n", c.name, msg)
	return code
}

// target is the server to ask, and the token to send when the command has
// --token: the flag's, else the one login stored for that very server (a
// token is never sent to another one).
func (c *cli) target() (server, token string, err error) {
	stored, lerr := loadCredentials(c.getenv)
	server = cmp.Or(*c.server, c.getenv("MEDIAREC_SERVER"))
	if server == "" && stored != nil {
		server = stored.Server
	}
	server = strings.TrimRight(cmp.Or(server, defaultServer), "/")
	if c.token == nil {
		return server, "", nil
	}
	if token = cmp.Or(*c.token, c.getenv("MEDIAREC_TOKEN")); token != "" {
		return server, token, nil
	}
	switch {
	case errors.Is(lerr, fs.ErrNotExist):
		return "", "", signedOut{"not signed in: " + signInHint + " or pass --token"}
	case lerr != nil:
		return "", "", signedOut{lerr.Error()}
	case stored.Server != server:
		return "", "", signedOut{fmt.Sprintf("signed in to %s, not %s: run \"mediarec login --server %s\"", stored.Server, server, server)}
	case !stored.ExpiresAt.IsZero() && time.Now().After(stored.ExpiresAt):
		return "", "", signedOut{fmt.Sprintf("the sign-in to %s expired at %s: %s", server, stored.ExpiresAt.Local().Format(time.DateTime), signInHint)}
	}
	return server, stored.Token, nil
}

// printJSON prints a server's answer as it came, one document.
func (c *cli) printJSON(data []byte) int {
	c.stdout.Write(data)
	if len(data) == 0 || data[len(data)-1] != '\n' {
		fmt.Fprintln(c.stdout)
	}
	return exitOK
}

// get GETs path with query values and prints the JSON answer when --json
// was given; otherwise it decodes the answer into out for a table.
func (c *cli) get(ctx context.Context, path string, out any) (printed bool, code int) {
	server, token, err := c.target()
	if err != nil {
		return true, c.fail(err)
	}
	data, err := send(ctx, "GET", server+path, token, "")
	if err != nil {
		return true, c.fail(err)
	}
	if *c.json {
		return true, c.printJSON(data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return true, c.fail(fmt.Errorf("read the answer of %s: %w", server, err))
	}
	return false, exitOK
}
