package users

import (
	"strings"
	"unicode"

	"mediarec"
)

// cleanTags trims tags and drops blank and repeated ones (in any letter
// case), keeping the first spelling, so " Noir" and "noir" are one tag.
func cleanTags(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		s = strings.TrimFunc(s, unicode.IsSpace)
		key := strings.ToLower(s)
		if s == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, s)
	}
	return out
}

// cleanTypes drops repeated media types.
func cleanTypes(in []mediarec.ItemType) []mediarec.ItemType {
	out := make([]mediarec.ItemType, 0, len(in))
	seen := make(map[mediarec.ItemType]bool, len(in))
	for _, t := range in {
		t = mediarec.ItemType(strings.ToLower(strings.TrimSpace(string(t))))
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
