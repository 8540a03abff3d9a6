package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// listedItem is what the tables show of an item.
type listedItem struct {
	ID     int64    `json:"id"`
	Type   string   `json:"type"`
	Title  string   `json:"title"`
	Year   int      `json:"year"`
	Genres []string `json:"genres"`
}

// scoredItem is one result line of search, recommend and similar.
type scoredItem struct {
	Item   listedItem `json:"item"`
	Score  float32    `json:"score"`
	Reason *struct {
		Text string `json:"text"`
	} `json:"reason"`
}

// withResults adds the flags of the commands that rank items.
func (c *cli) withResults(limit int) (types *string, n *int) {
	types = c.fs.String("types", "", "only these media types, comma-separated: book, movie, documentary, podcast")
	n = c.fs.Int("limit", limit, "number of results")
	return types, n
}

func resultValues(types string, limit int) url.Values {
	v := url.Values{"limit": {strconv.Itoa(limit)}}
	if types != "" {
		v.Set("types", types)
	}
	return v
}

func runSearch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := newCLI("search", `"find me something like…"`, getenv, stdout, stderr)
	types, limit := c.withResults(10)
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	text := strings.TrimSpace(strings.Join(pos, " "))
	if text == "" {
		return c.usage("say what to search for")
	}
	v := resultValues(*types, *limit)
	v.Set("q", text)
	var res struct {
		Items  []scoredItem `json:"items"`
		Parsed struct {
			Types []string `json:"types"`
			Text  string   `json:"text"`
			Title *struct {
				ItemID int64  `json:"item_id"`
				Title  string `json:"title"`
				Like   bool   `json:"like"`
			} `json:"title"`
			YearFrom int      `json:"year_from"`
			YearTo   int      `json:"year_to"`
			Genres   []string `json:"genres"`
		} `json:"parsed"`
	}
	if printed, code := c.get(ctx, "/v1/search?"+v.Encode(), &res); printed {
		return code
	}
	p := res.Parsed
	read := []string{"types " + orAll(strings.Join(p.Types, ", "))}
	if p.Title != nil {
		how := "the title"
		if p.Title.Like {
			how = "like"
		}
		read = append(read, fmt.Sprintf("%s %q (%d)", how, p.Title.Title, p.Title.ItemID))
	}
	if p.YearFrom != 0 || p.YearTo != 0 {
		read = append(read, "years "+yearRange(p.YearFrom, p.YearTo))
	}
	if len(p.Genres) > 0 {
		read = append(read, "genres "+strings.Join(p.Genres, ", "))
	}
	if p.Text != "" {
		read = append(read, fmt.Sprintf("about %q", p.Text))
	}
	fmt.Fprintf(stdout, "Understood: %s\n\n", strings.Join(read, "; "))
	printScored(stdout, res.Items)
	return exitOK
}

func orAll(types string) string {
	if types == "" {
		return "all"
	}
	return types
}

func yearRange(from, to int) string {
	switch {
	case from == to:
		return strconv.Itoa(from)
	case to == 0:
		return fmt.Sprintf("%d and later", from)
	case from == 0:
		return fmt.Sprintf("up to %d", to)
	}
	return fmt.Sprintf("%d–%d", from, to)
}

func runRecommend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := newCLI("recommend", "", getenv, stdout, stderr).withToken()
	types, limit := c.withResults(10)
	diversity := c.fs.Float64("diversity", 0.3, "0 = most relevant first, 1 = most varied")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	} else if len(pos) > 0 {
		return c.usage("unexpected arguments: " + strings.Join(pos, " "))
	}
	v := resultValues(*types, *limit)
	v.Set("diversity", strconv.FormatFloat(*diversity, 'f', -1, 64))
	var res struct {
		Items []scoredItem `json:"items"`
	}
	if printed, code := c.get(ctx, "/v1/recommendations?"+v.Encode(), &res); printed {
		return code
	}
	printScored(stdout, res.Items)
	return exitOK
}

func runSimilar(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := newCLI("similar", "ID", getenv, stdout, stderr)
	types, limit := c.withResults(10)
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	}
	id, err := itemIDArg(pos, 1)
	if err != nil {
		return c.usage(err.Error())
	}
	var res struct {
		Items []scoredItem `json:"items"`
	}
	path := fmt.Sprintf("/v1/items/%d/similar?%s", id, resultValues(*types, *limit).Encode())
	if printed, code := c.get(ctx, path, &res); printed {
		return code
	}
	printScored(stdout, res.Items)
	return exitOK
}

func runItems(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := newCLI("items", "", getenv, stdout, stderr)
	typ := c.fs.String("type", "", "only this media type: book, movie, documentary, podcast")
	genre := c.fs.String("genre", "", "only items of this genre")
	q := c.fs.String("q", "", "only items whose title or description has these words")
	limit := c.fs.Int("limit", 20, "number of items")
	cursor := c.fs.String("cursor", "", "the next page, as the previous one named it")
	pos, code, ok := c.parse(args)
	if !ok {
		return code
	} else if len(pos) > 0 {
		return c.usage("unexpected arguments: " + strings.Join(pos, " "))
	}
	v := url.Values{"limit": {strconv.Itoa(*limit)}}
	for k, val := range map[string]string{"type": *typ, "genre": *genre, "q": *q, "cursor": *cursor} {
		if val != "" {
			v.Set(k, val)
		}
	}
	var res struct {
		Items      []listedItem `json:"items"`
		NextCursor string       `json:"next_cursor"`
	}
	if printed, code := c.get(ctx, "/v1/items?"+v.Encode(), &res); printed {
		return code
	}
	if len(res.Items) == 0 {
		fmt.Fprintln(stdout, "No items.")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tYEAR\tTITLE\tGENRES")
	for _, it := range res.Items {
		year := ""
		if it.Year != 0 {
			year = strconv.Itoa(it.Year)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", it.ID, it.Type, year, clip(it.Title, 50), clip(strings.Join(it.Genres, ", "), 30))
	}
	tw.Flush()
	if res.NextCursor != "" {
		fmt.Fprintf(stdout, "More: the same command with --cursor %s\n", res.NextCursor)
	}
	return exitOK
}

// itemIDArg reads the item id that is the first of want arguments.
func itemIDArg(pos []string, want int) (int64, error) {
	if len(pos) != want {
		return 0, fmt.Errorf("want %d argument(s), got %d", want, len(pos))
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("ID %q is not an item id (a positive whole number)", pos[0])
	}
	return id, nil
}

func printScored(w io.Writer, items []scoredItem) {
	if len(items) == 0 {
		fmt.Fprintln(w, "Nothing found.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tID\tSCORE\tTYPE\tTITLE\tWHY")
	for i, it := range items {
		title := clip(it.Item.Title, 50)
		if it.Item.Year != 0 {
			title = fmt.Sprintf("%s (%d)", title, it.Item.Year)
		}
		why := ""
		if it.Reason != nil {
			why = clip(it.Reason.Text, 60)
		}
		fmt.Fprintf(tw, "%d\t%d\t%.3f\t%s\t%s\t%s\n", i+1, it.Item.ID, it.Score, it.Item.Type, title, why)
	}
	tw.Flush()
}

// clip shortens s to at most n characters, marking the cut, and keeps it
// on one line (a tab or newline would break the table).
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)*2/3 {
		cut = cut[:i] // at a word's end when one is near
	}
	return strings.TrimRight(cut, " ,.;:-") + "…"
}
