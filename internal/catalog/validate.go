package catalog

import (
	"strings"

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
	item.ImageURL = strings.TrimSpace(item.ImageURL)
	item.Genres = validate.CleanList(item.Genres)
	item.Tags = validate.CleanList(item.Tags)
	item.Creators = validate.CleanList(item.Creators)
}
