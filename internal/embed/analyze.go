package embed

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
)

// analyzerVersion changes whenever tokens would produce other terms for the
// same text. It is stored in fitted models, so that a model fitted under an
// older analyzer is rejected instead of silently missing its vocabulary.
const analyzerVersion = 1

// extraStopWords complements the Snowball English list with words that carry
// no topic yet are frequent in plot summaries, and with the stubs left by
// splitting contractions ("they're" → "they", "re").
var extraStopWords = map[string]bool{
	"also": true, "would": true, "could": true, "may": true, "might": true,
	"must": true, "shall": true, "upon": true, "yet": true, "via": true,
	"re": true, "ve": true, "ll": true,
}

// tokens appends the kept stems of text to dst, in order, with "" wherever a
// bigram must not span: at punctuation other than hyphens and apostrophes,
// so that "Sci-Fi" still yields "sci fi" but "Drama, Romance" yields no
// "drama romanc". Stop words are dropped without breaking the chain, so
// "Lord of the Rings" yields the bigram "lord ring".
func tokens(dst []string, text string) []string {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			if breaksBigram(r) && len(dst) > 0 && dst[len(dst)-1] != "" {
				dst = append(dst, "")
			}
			i += size
			continue
		}
		start := i
		for i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r) {
				break
			}
			i += size
		}
		if stem := stemWord(text[start:i]); stem != "" {
			dst = append(dst, stem)
		}
	}
	return dst
}

// stemWord lowercases and stems one word, or returns "" for a stop word or a
// single ASCII letter or digit (initials, sequel numbers), which only add
// noise. A single non-ASCII rune is kept: in Chinese or Japanese one
// character is often a whole word.
func stemWord(word string) string {
	word = strings.ToLower(word)
	if len(word) == 1 || english.IsStopWord(word) || extraStopWords[word] {
		return ""
	}
	if hasDigit(word) {
		return word // years and numbers are not English words to stem
	}
	return english.Stem(word, true)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func breaksBigram(r rune) bool {
	switch r {
	case '-', '\'', '\u2010', '\u2019', ' ', '\t':
		return false
	case '\n', '\r':
		return true
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			return true
		}
	}
	return false
}

// eachTerm calls unigram for every stem and bigram for every pair of
// adjacent stems not separated by a break. The bigram is passed as its two
// halves so that callers can look it up or hash it without allocating.
func eachTerm(stems []string, unigram func(s string), bigram func(a, b string)) {
	for i, s := range stems {
		if s == "" {
			continue
		}
		unigram(s)
		if i+1 < len(stems) && stems[i+1] != "" {
			bigram(s, stems[i+1])
		}
	}
}
