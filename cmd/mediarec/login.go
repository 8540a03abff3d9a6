package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"
)

// runLogin exchanges an email and password for a token and stores the
// token, never the password. The password is read without echo from a
// terminal, or as one line from a pipe, so that scripts can sign in.
func runLogin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := newCLI("login", "", getenv, stdout, stderr)
	email := c.fs.String("email", getenv("MEDIAREC_EMAIL"), "the account's email (MEDIAREC_EMAIL); asked for when not given")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	} else if len(pos) > 0 {
		return c.usage("unexpected arguments: " + strings.Join(pos, " "))
	}
	server, _, _ := c.target()
	tty := terminalFD(stdin)
	in := bufio.NewReader(stdin)
	if *email == "" {
		if tty >= 0 {
			fmt.Fprint(stderr, "Email: ")
		}
		line, err := readLine(in)
		if err != nil || line == "" {
			return c.usage("no email given")
		}
		*email = line
	}
	password, err := readPassword(tty, in, stderr)
	if err != nil {
		return c.fail(fmt.Errorf("read the password: %w", err))
	} else if password == "" {
		return c.usage("no password given (type it, or pipe it on stdin)")
	}
	body, err := json.Marshal(map[string]string{"email": *email, "password": password})
	if err != nil {
		return c.fail(err)
	}
	data, err := send(ctx, "POST", server+"/v1/auth/login", "", string(body))
	if err != nil {
		return c.fail(err)
	}
	var ans struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(data, &ans); err != nil || ans.Token == "" {
		return c.fail(fmt.Errorf("%s answered no token", server))
	}
	creds := &credentials{Server: server, Token: ans.Token, ExpiresAt: ans.ExpiresAt, Email: *email}
	if err := saveCredentials(getenv, creds); err != nil {
		return c.fail(err)
	}
	if *c.json {
		return c.printJSON(data)
	}
	fmt.Fprintf(stdout, "Signed in as %s on %s (token valid until %s).\n", *email, server, ans.ExpiresAt.Local().Format("2006-01-02 15:04 MST"))
	return exitOK
}

// terminalFD is stdin's file descriptor when it is a terminal, else -1.
func terminalFD(stdin io.Reader) int {
	if f, ok := stdin.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		return int(f.Fd())
	}
	return -1
}

// readPassword reads the password from the terminal tty without echo, or
// as the next line of in when there is no terminal.
func readPassword(tty int, in *bufio.Reader, stderr io.Writer) (string, error) {
	if tty < 0 {
		return readLine(in)
	}
	fmt.Fprint(stderr, "Password: ")
	b, err := term.ReadPassword(tty)
	fmt.Fprintln(stderr)
	return string(b), err
}

// readLine reads one line, without its line ending; the last line of a
// pipe needs none.
func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runLogout(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := newCLI("logout", "", getenv, stdout, stderr)
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	} else if len(pos) > 0 {
		return c.usage("unexpected arguments: " + strings.Join(pos, " "))
	}
	stored, _ := loadCredentials(getenv)
	removed, err := removeCredentials(getenv)
	switch {
	case err != nil:
		return c.fail(fmt.Errorf("forget the token: %w", err))
	case !removed:
		fmt.Fprintln(stdout, "Not signed in.")
	case stored != nil:
		fmt.Fprintf(stdout, "Signed out of %s (%s).\n", stored.Server, stored.Email)
	default:
		fmt.Fprintln(stdout, "Signed out.")
	}
	return exitOK
}

// runFeedback is like, dislike and rate: the signed-in user's judgement
// of an item.
func runFeedback(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	want, usage := 1, "ID"
	if name == "rate" {
		want, usage = 2, "ID STARS"
	}
	c := newCLI(name, usage, getenv, stdout, stderr).withToken()
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	id, err := itemIDArg(pos, want)
	if err != nil {
		return c.usage(err.Error())
	}
	fb := map[string]any{"item_id": id, "kind": name}
	done := fmt.Sprintf("Liked item %d.", id)
	switch name {
	case "dislike":
		done = fmt.Sprintf("Disliked item %d.", id)
	case "rate":
		stars, err := strconv.ParseFloat(pos[1], 64)
		if err != nil || stars < 0.5 || stars > 5 || stars*2 != float64(int(stars*2)) {
			return c.usage(fmt.Sprintf("STARS %q is not 0.5 to 5 in steps of 0.5", pos[1]))
		}
		fb["kind"], fb["rating"] = "rating", stars
		done = fmt.Sprintf("Rated item %d: %s/5.", id, strconv.FormatFloat(stars, 'f', -1, 64))
	}
	server, token, err := c.target()
	if err != nil {
		return c.fail(err)
	}
	body, err := json.Marshal(fb)
	if err != nil {
		return c.fail(err)
	}
	data, err := send(ctx, "POST", server+"/v1/me/feedback", token, string(body))
	if err != nil {
		return c.fail(err)
	}
	if *c.json {
		return c.printJSON(data)
	}
	fmt.Fprintln(stdout, done)
	return exitOK
}
