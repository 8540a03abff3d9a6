package users

import (
	"strings"

	"mediarec"
)

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
