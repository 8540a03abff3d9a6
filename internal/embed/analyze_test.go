package embed

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "lowercase and stem", text: "Running Dogs", want: []string{"run", "dog"}},
		{name: "stop words dropped without a break", text: "Lord of the Rings", want: []string{"lord", "ring"}},
		{name: "punctuation breaks bigrams", text: "Drama, Romance", want: []string{"drama", "", "romanc"}},
		{name: "hyphen does not break", text: "Sci-Fi", want: []string{"sci", "fi"}},
		{name: "newline breaks", text: "interstellar travel\nspace", want: []string{"interstellar", "travel", "", "space"}},
		{name: "accents", text: "Amélie Poulain", want: []string{"améli", "poulain"}},
		{name: "uppercase non-ASCII", text: "ÉCOLE", want: []string{"école"}},
		{name: "numbers kept unstemmed", text: "2001: A Space Odyssey, 1950s", want: []string{"2001", "", "space", "odyssey", "", "1950s"}},
		{name: "single ASCII letters dropped", text: "X-Men", want: []string{"men"}},
		{name: "contractions", text: "They're astronauts' wives", want: []string{"astronaut", "wive"}},
		{name: "CJK run kept whole", text: "千と千尋の神隠し", want: []string{"千と千尋の神隠し"}},
		{name: "empty", text: "", want: nil},
		{name: "only stop words", text: "the of and", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tokens(nil, tt.text)); diff != "" {
				t.Errorf("tokens(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestEachTerm(t *testing.T) {
	var got []string
	eachTerm(tokens(nil, "Space travel, deep space: astronauts"),
		func(s string) { got = append(got, s) },
		func(a, b string) { got = append(got, a+" "+b) })
	want := []string{"space", "space travel", "travel", "deep", "deep space", "space", "astronaut"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("terms (-want +got):\n%s", diff)
	}
}

func TestItemText(t *testing.T) {
	item := &mediarec.Item{
		Type: mediarec.TypeMovie, Title: "Gravity", Description: "Two astronauts adrift.",
		Genres: []string{"Drama", "Sci-Fi"}, Tags: []string{"space"}, Creators: []string{"Alfonso Cuarón"},
	}
	want := "Gravity. Gravity. movie. Drama, Sci-Fi. space. space. space. Alfonso Cuarón. Two astronauts adrift."
	if got := ItemText(item); got != want {
		t.Errorf("ItemText = %q, want %q", got, want)
	}
	if got := ItemText(&mediarec.Item{Type: mediarec.TypeBook, Title: "Dune"}); got != "Dune. Dune. book" {
		t.Errorf("ItemText of a bare item = %q", got)
	}
}
