// Package validate checks input structs against their `validate` tags
// (go-playground/validator) and reports the failures as one EINVALID
// application error that names each field as clients spell it
// ("genres[2]", "media_types[1]").
package validate

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/go-playground/validator/v10"

	"mediarec"
)

// v is safe for concurrent use and caches struct metadata, so one instance
// serves every service.
var v = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}

// Struct validates s; on failure it returns an EINVALID error with msg and
// one FieldError per failing field.
func Struct(s any, msg string) error {
	err := v.Struct(s)
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
	switch fe.Tag() {
	case "required":
		return "is required"
	case "email":
		return "must be a valid email address"
	case "oneof":
		return fmt.Sprintf("must be one of %s", strings.ReplaceAll(fe.Param(), " ", ", "))
	case "max", "min":
		bound := map[string]string{"max": "at most", "min": "at least"}[fe.Tag()]
		switch fe.Kind() {
		case reflect.Slice:
			return fmt.Sprintf("must have %s %s entries", bound, fe.Param())
		case reflect.String:
			return fmt.Sprintf("must be %s %s characters", bound, fe.Param())
		}
		return fmt.Sprintf("must be %s %s", bound, fe.Param())
	case "http_url":
		return "must be an absolute http or https URL"
	case "gt":
		return fmt.Sprintf("must be greater than %s", fe.Param())
	}
	return fmt.Sprintf("fails the %q rule", fe.Tag())
}

// CleanList trims the entries of a free-text list and drops blank and
// repeated ones (in any letter case), keeping the first spelling, so that
// " Noir" and "noir" are one tag and re-sent input compares equal.
func CleanList(in []string) []string {
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
