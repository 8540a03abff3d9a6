package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mediarec"
)

// queryFlags are the flags search and recommend share.
type queryFlags struct {
	fs     *flag.FlagSet
	server *string
	types  *string
	limit  *int
}

func newQueryFlags(name, usage string, getenv func(string) string, stderr io.Writer) queryFlags {
	fs := flag.NewFlagSet("mediarec "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mediarec %s [flags] %s\n\n", name, usage)
		fs.PrintDefaults()
	}
	return queryFlags{
		fs:     fs,
		server: fs.String("server", envOr(getenv, "MEDIAREC_SERVER", "http://127.0.0.1:8080"), "base URL of the server (MEDIAREC_SERVER)"),
		types:  fs.String("types", "", "only these media types, comma-separated: book, movie, documentary, podcast"),
		limit:  fs.Int("limit", 10, "number of results"),
	}
}

func (q queryFlags) values() url.Values {
	v := url.Values{"limit": {strconv.Itoa(*q.limit)}}
	if *q.types != "" {
		v.Set("types", *q.types)
	}
	return v
}

// scoredItem is one result line of either command.
type scoredItem struct {
	Item   mediarec.Item `json:"item"`
	Score  float32       `json:"score"`
	Reason *struct {
		Text string `json:"text"`
	} `json:"reason"`
}

func runSearch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	q := newQueryFlags("search", `"find me something like…"`, getenv, stderr)
	if err := q.fs.Parse(args); err != nil {
		return configError(stderr, "search", err)
	}
	text := strings.TrimSpace(strings.Join(q.fs.Args(), " "))
	if text == "" {
		q.fs.Usage()
		return 2
	}
	v := q.values()
	v.Set("q", text)
	var res struct {
		Items  []scoredItem `json:"items"`
		Parsed struct {
			Types []string `json:"types"`
			Text  string   `json:"text"`
		} `json:"parsed"`
	}
	if err := getJSON(ctx, *q.server+"/v1/search?"+v.Encode(), "", &res); err != nil {
		fmt.Fprintf(stderr, "mediarec search: %v\n", err)
		return 1
	}
	if len(res.Parsed.Types) > 0 {
		fmt.Fprintf(stdout, "Searching %s for %q\n", strings.Join(res.Parsed.Types, ", "), res.Parsed.Text)
	}
	printItems(stdout, res.Items)
	return 0
}

func runRecommend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	q := newQueryFlags("recommend", "--token T", getenv, stderr)
	token := q.fs.String("token", getenv("MEDIAREC_TOKEN"), "the user's bearer token, from POST /v1/auth/login (MEDIAREC_TOKEN)")
	diversity := q.fs.Float64("diversity", 0.3, "0 = most relevant first, 1 = most varied")
	if err := q.fs.Parse(args); err != nil {
		return configError(stderr, "recommend", err)
	}
	if *token == "" || q.fs.NArg() > 0 {
		q.fs.Usage()
		return 2
	}
	v := q.values()
	v.Set("diversity", strconv.FormatFloat(*diversity, 'f', -1, 64))
	var res struct {
		Items []scoredItem `json:"items"`
	}
	if err := getJSON(ctx, *q.server+"/v1/recommendations?"+v.Encode(), *token, &res); err != nil {
		fmt.Fprintf(stderr, "mediarec recommend: %v\n", err)
		return 1
	}
	printItems(stdout, res.Items)
	return 0
}

func printItems(w io.Writer, items []scoredItem) {
	if len(items) == 0 {
		fmt.Fprintln(w, "Nothing found.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSCORE\tTYPE\tTITLE\tWHY")
	for i, it := range items {
		title := it.Item.Title
		if it.Item.Year > 0 {
			title = fmt.Sprintf("%s (%d)", title, it.Item.Year)
		}
		why := ""
		if it.Reason != nil {
			why = it.Reason.Text
		}
		fmt.Fprintf(tw, "%d\t%.3f\t%s\t%s\t%s\n", i+1, it.Score, it.Item.Type, title, why)
	}
	tw.Flush()
}

// getJSON GETs url and decodes the answer into out.
func getJSON(ctx context.Context, url, token string, out any) error {
	return doJSON(ctx, http.MethodGet, url, token, "", out)
}

// doJSON sends body (none when empty) and decodes the answer into out when
// not nil; an error answer becomes an error with the problem's title,
// detail and invalid fields.
func doJSON(ctx context.Context, method, url, token, body string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		var p struct {
			Title, Detail string
			Errors        []struct{ Field, Message string }
		}
		if json.Unmarshal(data, &p) != nil || p.Title == "" {
			return fmt.Errorf("the server answered %s", res.Status)
		}
		msg := p.Title
		if p.Detail != "" {
			msg += " " + p.Detail
		}
		for _, e := range p.Errors {
			msg += fmt.Sprintf("\n  %s: %s", e.Field, e.Message)
		}
		return errors.New(msg)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
