package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/go-playground/validator/v10"

	"mediarec"
)

// validate is safe for concurrent use and caches struct metadata, so one
// instance serves the whole package.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Name fields as clients spell them: the JSON name, with the index of a
	// list element (genres[2]).
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}

func validateItem(item *mediarec.Item) error {
	return validationError("Invalid item.", validate.Struct(item))
}

func validateUpdate(upd mediarec.ItemUpdate) error {
	return validationError("Invalid item update.", validate.Struct(upd))
}

func validationError(msg string, err error) error {
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("validate: %w", err)
	}
	fields := make([]mediarec.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, mediarec.FieldError{Field: fieldPath(fe), Message: describe(fe)})
	}
	return &mediarec.Error{Code: mediarec.EINVALID, Message: msg, Fields: fields}
}

// fieldPath drops the struct name validator puts first: "Item.genres[2]".
func fieldPath(fe validator.FieldError) string {
	_, path, ok := strings.Cut(fe.Namespace(), ".")
	if !ok {
		return fe.Field()
	}
	return path
}

func describe(fe validator.FieldError) string {
	list := fe.Kind() == reflect.Slice
	switch fe.Tag() {
	case "required":
		return "is required"
	case "oneof":
		return fmt.Sprintf("must be one of %s", strings.ReplaceAll(fe.Param(), " ", ", "))
	case "max":
		if list {
			return fmt.Sprintf("must have at most %s entries", fe.Param())
		} else if fe.Kind() == reflect.String {
			return fmt.Sprintf("must be at most %s characters", fe.Param())
		}
		return fmt.Sprintf("must be at most %s", fe.Param())
	case "min":
		return fmt.Sprintf("must be at least %s", fe.Param())
	}
	return fmt.Sprintf("fails the %q rule", fe.Tag())
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
