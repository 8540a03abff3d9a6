package catalog

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mediarec"
)

// Limits of FindTopTags.
const (
	DefaultTagLimit = 24
	MaxTagLimit     = 200
)

// tagTTL is how long an answer of FindTopTags is served from memory. Tags
// change with ingests, not by the second, and onboarding only suggests
// them, so an answer a few minutes old is as good as a fresh one.
const tagTTL = 5 * time.Minute

// tagCache keeps the answers of FindTopTags per (types, limit). The keys
// are few (subsets of the four types times the limits asked for, at most
// MaxTagLimit), so nothing evicts them: an expired answer is replaced on
// the next ask.
type tagCache struct {
	now     func() time.Time
	mu      sync.Mutex
	answers map[string]tagAnswer
}

type tagAnswer struct {
	tags    []mediarec.TagCount
	expires time.Time
}

// FindTopTags returns up to limit (0 means DefaultTagLimit) tags of the
// items of types, of every type when types is empty, with how many items
// carry each, the most common first, ties by tag.
//
// Counting reads the tags of every item of the types, a full scan that at a
// million items takes seconds, and onboarding asks on every sign-up: so the
// answer is kept for tagTTL per (types, limit), and callers share it: they
// must not change it. Two first asks at once may both count; that is
// harmless and rare.
func (s *Service) FindTopTags(ctx context.Context, types []mediarec.ItemType, limit int) ([]mediarec.TagCount, error) {
	var fields []mediarec.FieldError
	for _, t := range types {
		if !t.Valid() {
			fields = append(fields, mediarec.FieldError{Field: "types", Message: fmt.Sprintf("unknown type %q: want one of book, movie, documentary, podcast", t)})
		}
	}
	if limit == 0 {
		limit = DefaultTagLimit
	} else if limit < 1 || limit > MaxTagLimit {
		fields = append(fields, mediarec.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxTagLimit)})
	}
	if len(fields) > 0 {
		return nil, &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid query parameters.", Fields: fields}
	}
	// One key, and one store query, for the same set of types in any order
	// or with repeats.
	types = slices.Clone(types)
	slices.Sort(types)
	types = slices.Compact(types)
	if len(types) == len(mediarec.ItemTypes) {
		types = nil
	}
	key := tagKey(types, limit)

	c := &s.tags
	c.mu.Lock()
	a, ok := c.answers[key]
	c.mu.Unlock()
	if ok && c.now().Before(a.expires) {
		return a.tags, nil
	}
	// The store is asked outside the lock, so that a slow count of one key
	// does not hold up answers of the others.
	tags, err := s.store.FindTopTags(ctx, types, limit)
	if err != nil {
		return nil, fmt.Errorf("find top tags: %w", err)
	}
	c.mu.Lock()
	if c.answers == nil {
		c.answers = make(map[string]tagAnswer)
	}
	c.answers[key] = tagAnswer{tags: tags, expires: c.now().Add(tagTTL)}
	c.mu.Unlock()
	return tags, nil
}

func tagKey(types []mediarec.ItemType, limit int) string {
	var b strings.Builder
	for _, t := range types {
		b.WriteString(string(t))
		b.WriteByte(',')
	}
	b.WriteString(strconv.Itoa(limit))
	return b.String()
}
