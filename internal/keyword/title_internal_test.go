package keyword

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTitleKeys(t *testing.T) {
	tests := []struct {
		title string
		want  []titleKey
	}{
		{"Interstellar (2014)", []titleKey{{key: "interstellar"}}},
		{"The Martian", []titleKey{{key: "martian"}}},
		{"The Hunger Games (The Hunger Games, #1)", []titleKey{{key: "hunger games"}}},
		{"Harry Potter and the Sorcerer's Stone (Harry Potter, #1)", []titleKey{{key: "harry potter and the sorcerers stone"}, {key: "harry potter", alias: true}}},
		{"The Postman (Il Postino) (1994)", []titleKey{{key: "postman"}, {key: "il postino", alias: true}}},
		{"Macbeth (a.k.a. The Tragedy of Macbeth)", []titleKey{{key: "macbeth"}, {key: "tragedy of macbeth", alias: true}}},
		{"Star Wars: Episode IV - A New Hope (1977)", []titleKey{{key: "star wars episode iv a new hope"}, {key: "star wars", alias: true}}},
		{"2001: A Space Odyssey", []titleKey{{key: "2001 a space odyssey"}, {key: "2001", alias: true}, {key: "space odyssey", alias: true}}},
		{"The Lord of the Rings: The Two Towers", []titleKey{{key: "lord of the rings the two towers"}, {key: "lord of the rings", alias: true}, {key: "two towers", alias: true}}},
		{"The Godfather: Part II", []titleKey{{key: "godfather part ii"}, {key: "godfather", alias: true}}},
		{"Alien: Resurrection", []titleKey{{key: "alien resurrection"}, {key: "alien", alias: true}}},
		{"Les Misérables", []titleKey{{key: "les miserables"}}},
		{"Straße & Œuvre", []titleKey{{key: "strasse and oeuvre"}}},
		{"The No. 1 Ladies' Detective Agency (No. 1 Ladies' Detective Agency, #1)", []titleKey{{key: "no 1 ladies detective agency"}}},
		{"(500) Days of Summer", []titleKey{{key: "500 days of summer"}}},
		{"(Untitled)", []titleKey{{key: "untitled"}}},
		{"It", []titleKey{{key: "it"}}},
		{"The", []titleKey{{key: "the"}}},
		{"千と千尋の神隠し", []titleKey{{key: "千と千尋の神隠し"}}},
		{"  ", nil},
		{"((()", nil},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, titleKeys(tt.title), cmp.AllowUnexported(titleKey{})); diff != "" {
				t.Errorf("titleKeys(%q) (-want +got):\n%s", tt.title, diff)
			}
		})
	}
}

func TestTitlePrefixes(t *testing.T) {
	tests := []struct {
		key  string
		want []string
	}{
		{"hitchhikers guide to the galaxy", []string{"hitchhikers guide"}},
		{"interstellar", nil},
		{"star wars", nil},
		{"lord of the rings the two towers", []string{"lord of the rings", "lord of the rings the two"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, titlePrefixes(tt.key)); diff != "" {
				t.Errorf("titlePrefixes(%q) (-want +got):\n%s", tt.key, diff)
			}
		})
	}
}
