package catalog

import (
	"strings"
	"unicode"

	"mediarec"
	"mediarec/internal/validate"
)

func validateItem(item *mediarec.Item) error {
	return validate.Struct(item, "Invalid item.")
}

func validateUpdate(upd mediarec.ItemUpdate) error {
	return validate.Struct(upd, "Invalid item update.")
}

// fieldsOf turns any error into field errors for a batch failure report.
func fieldsOf(err error) []mediarec.FieldError {
	if fields := mediarec.ErrorFields(err); len(fields) > 0 {
		return fields
	}
	return []mediarec.FieldError{{Field: "", Message: mediarec.ErrorMessage(err)}}
}

// normalize trims text and removes blank and repeated list entries, so that
// " Drama" and "Drama" are one genre and re-sent items compare equal.
func normalize(item *mediarec.Item) {
	item.ExternalID = strings.TrimSpace(item.ExternalID)
	item.Title = strings.TrimSpace(item.Title)
	item.Description = strings.TrimSpace(item.Description)
	item.Language = strings.ToLower(strings.TrimSpace(item.Language))
	item.Genres = cleanList(item.Genres)
	item.Tags = cleanList(item.Tags)
	item.Creators = cleanList(item.Creators)
}

func cleanList(in []string) []string {
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
