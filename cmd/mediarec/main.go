// Command mediarec runs the mediarec services, all in one process or one at
// a time, and the tools that feed and measure them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `mediarec: a semantic recommender for books, movies, documentaries and podcasts.

Usage: mediarec <command> [flags]

Servers:
  serve          all services in one process (embedded defaults unless configured)
  demo           serve on a temporary data dir with the bundled demo catalog
  catalog        the catalog service alone
  users          the users service alone (needs CATALOG_URL)
  recs           the recommendation and search service alone (needs NATS_URL, USERS_URL)
  embed-worker   an embedding worker alone (needs NATS_URL)
  web            the UI, forwarding the API to the services (needs CATALOG_URL, USERS_URL, RECS_URL)

Tools:
  migrate        apply the PostgreSQL migrations of the configured databases, then exit
  version        print the version this binary was built from
  ingest         bulk-load a catalog through the API
  bench          serving benchmark of recommendations and search over HTTP
  eval           compare recommenders offline on a ratings data set

As a user (tables by default, --json prints the server's answer unchanged):
  login          sign in: mediarec login --server URL --email E (asks for the password;
                 or pipe it on stdin); the token is kept 0600 in the user config dir
  logout         forget the stored token
  search         natural-language search: mediarec search "a documentary about the ocean"
  recommend      the signed-in user's recommendations
  like ID        like an item; also: dislike ID, rate ID STARS (0.5 to 5 in halves)
  similar ID     items like this one
  items          browse the catalog: --type, --genre, --q, --limit

Exit codes of the user commands:
  0 ok; 1 the server refused or failed, or could not be reached; 2 bad usage;
  3 not signed in or the token expired (401); 4 not found (404).

Run "mediarec <command> -h" for the flags of a command.
`

// version is the build's version, stamped by the image builds with
// -ldflags "-X main.version=…" from git.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runStdin(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// run is runStdin on the process's stdin.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runStdin(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// runStdin dispatches a command line and returns the exit code: 0 success,
// 1 failure, 2 bad usage or configuration; the user commands add 3 (not
// signed in) and 4 (not found).
func runStdin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "catalog", "users", "recs", "embed-worker", "web":
		return runServer(ctx, cmd, rest, getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "ingest":
		return runIngest(ctx, rest, getenv, stdout, stderr)
	case "search":
		return runSearch(ctx, rest, getenv, stdout, stderr)
	case "recommend":
		return runRecommend(ctx, rest, getenv, stdout, stderr)
	case "login":
		return runLogin(ctx, rest, getenv, stdin, stdout, stderr)
	case "logout":
		return runLogout(ctx, rest, getenv, stdout, stderr)
	case "like", "dislike", "rate":
		return runFeedback(ctx, cmd, rest, getenv, stdout, stderr)
	case "similar":
		return runSimilar(ctx, rest, getenv, stdout, stderr)
	case "items":
		return runItems(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, getenv, stdout, stderr)
	case "eval":
		return runEval(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mediarec: unknown command %q\n\n%s", cmd, usage)
	return 2
}
