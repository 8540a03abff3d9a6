package eval_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"mediarec"
	"mediarec/internal/eval"
)

func TestRule(t *testing.T) {
	interstellar := &mediarec.Item{Type: mediarec.TypeMovie, Title: "Interstellar", Year: 2014, Genres: []string{"Sci-Fi", "IMAX"}, Tags: []string{"black hole", "time-travel"}}
	cosmos := &mediarec.Item{Type: mediarec.TypeDocumentary, Title: "Cosmos", Year: 1980, Genres: []string{"Documentary"}, Tags: []string{"astronomy", "carl sagan"}}
	tests := []struct {
		name string
		rule string
		want [2]bool // interstellar, cosmos
	}{
		{"empty", `{}`, [2]bool{true, true}},
		{"type", `{"types":["documentary"]}`, [2]bool{false, true}},
		{"years", `{"year_from":1980,"year_to":1989}`, [2]bool{false, true}},
		{"open years", `{"year_to":1979}`, [2]bool{false, false}},
		{"all genres, any case", `{"genres":["sci-fi","imax"]}`, [2]bool{true, false}},
		{"any genre", `{"any_genre":["Documentary","Horror"]}`, [2]bool{false, true}},
		{"word starts", `{"words":["astronom"]}`, [2]bool{false, true}},
		{"not inside a word", `{"words":["stronomy"]}`, [2]bool{false, false}},
		{"phrase in tags", `{"words":["black hole"]}`, [2]bool{true, false}},
		{"title", `{"title":["inter"]}`, [2]bool{true, false}},
		{"not a title", `{"not_titles":["interstellar"]}`, [2]bool{false, true}},
		{"any of", `{"types":["movie"],"any":[{"words":["carl sagan"]},{"genres":["IMAX"]}]}`, [2]bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs, err := eval.LoadJudgedQueries(strings.NewReader(`{"class":"c","q":"x","relevant":` + tt.rule + "}\n"))
			if err != nil {
				t.Fatal(err)
			}
			r := qs[0].Relevant
			if got := [2]bool{r.Match(interstellar), r.Match(cosmos)}; got != tt.want {
				t.Errorf("matches %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`{"q":"x","relevant":{}}`, `{"class":"c","q":"x","relevant":{"genre":["x"]}}`, `not json`} {
		if _, err := eval.LoadJudgedQueries(strings.NewReader(bad)); err == nil {
			t.Errorf("LoadJudgedQueries(%s): no error", bad)
		}
	}
}

// searchBench is the demo catalog's search bench, built once per run: the
// fit takes seconds.
var searchBench = sync.OnceValues(func() (*eval.SearchBench, error) {
	items, err := eval.DemoItems()
	if err != nil {
		return nil, err
	}
	return eval.NewSearchBench(context.Background(), items)
})

func TestJudgedSearch(t *testing.T) {
	queries, err := eval.LoadJudgedQueries(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) < 50 {
		t.Fatalf("%d judged queries, want 50 or more", len(queries))
	}
	b, err := searchBench()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	rep, err := eval.RunSearch(context.Background(), b, queries, eval.DefaultK, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.WriteText(&out, testing.Verbose()); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	classes := map[string]bool{}
	for _, q := range rep.Queries {
		classes[q.Class] = true
		if q.Relevant == 0 {
			t.Errorf("%q: no relevant item in the catalog: a broken rule", q.Query)
		}
	}
	for _, c := range []string{"like-title-but-type", "title", "decade-year", "genre", "topic", "type-only", "mixed"} {
		if !classes[c] {
			t.Errorf("no query of class %s", c)
		}
	}
	all := rep.Classes[len(rep.Classes)-1]
	if all.Class != "all" || all.Queries != len(queries) {
		t.Fatalf("last class %+v, want all %d queries", all, len(queries))
	}
	if all.Precision < 0.8 {
		t.Errorf("precision@10 %.3f over all queries, want 0.8 or more", all.Precision)
	}
}
