package mediarec

import "time"

// ItemType is the kind of media an item is.
type ItemType string

// The media types of the catalog.
const (
	TypeBook        ItemType = "book"
	TypeMovie       ItemType = "movie"
	TypeDocumentary ItemType = "documentary"
	TypePodcast     ItemType = "podcast"
)

// ItemTypes lists every valid ItemType.
var ItemTypes = []ItemType{TypeBook, TypeMovie, TypeDocumentary, TypePodcast}

// Valid reports whether t is one of ItemTypes.
func (t ItemType) Valid() bool {
	for _, v := range ItemTypes {
		if t == v {
			return true
		}
	}
	return false
}

// EmbeddingStatus tells whether an item's vector is in the vector store.
type EmbeddingStatus string

// The embedding states of an item.
const (
	EmbeddingPending EmbeddingStatus = "pending"
	EmbeddingDone    EmbeddingStatus = "done"
	EmbeddingFailed  EmbeddingStatus = "failed"
)

// EmbeddingStatuses lists every valid EmbeddingStatus.
var EmbeddingStatuses = []EmbeddingStatus{EmbeddingPending, EmbeddingDone, EmbeddingFailed}

// Valid reports whether s is one of EmbeddingStatuses.
func (s EmbeddingStatus) Valid() bool {
	for _, v := range EmbeddingStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Item is one book, movie, documentary or podcast of the catalog.
type Item struct {
	ID          int64    `json:"id"`
	ExternalID  string   `json:"external_id,omitempty" validate:"max=200"`
	Type        ItemType `json:"type" validate:"required,oneof=book movie documentary podcast"`
	Title       string   `json:"title" validate:"required,max=500"`
	Description string   `json:"description" validate:"max=20000"`
	Genres      []string `json:"genres" validate:"max=50,dive,required,max=100"`
	Tags        []string `json:"tags" validate:"max=200,dive,required,max=100"`
	Creators    []string `json:"creators" validate:"max=100,dive,required,max=200"`
	Year        int      `json:"year,omitempty" validate:"omitempty,min=-3000,max=2100"`
	Language    string   `json:"language,omitempty" validate:"max=35"`
	// Popularity is how many ratings or reviews the item has in the source
	// it came from (MovieLens ratings, Goodreads ratings_count, Apple
	// Podcasts reviews); 0 when the source counts none. Counts of different
	// sources are not comparable, so they are only ranked within a type.
	Popularity int64 `json:"popularity,omitempty" validate:"min=0"`
	// ImageURL is the address of a cover or poster image, an absolute http
	// or https URL, or "" when there is none.
	ImageURL        string          `json:"image_url,omitempty" validate:"omitempty,max=2000,http_url"`
	EmbeddingStatus EmbeddingStatus `json:"embedding_status"`
	// EmbeddingError says why the last embedding failed.
	EmbeddingError string `json:"embedding_error,omitempty"`
	// Version counts content changes; embeddings are matched to it.
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SameContent reports whether a and b carry the same user-visible content,
// ignoring identity, timestamps and embedding state. Re-sending an unchanged
// item must not count as an update.
//
// Popularity and ImageURL are not content: nothing embedded reads them, so
// a new count or a new cover must not cost a new version and a
// re-embedding. The stores write a change of those alone as an event-only
// change, which keeps the version and still tells other services.
func (a *Item) SameContent(b *Item) bool {
	return a.ExternalID == b.ExternalID && a.Type == b.Type && a.Title == b.Title &&
		a.Description == b.Description && a.Year == b.Year && a.Language == b.Language &&
		equalStrings(a.Genres, b.Genres) && equalStrings(a.Tags, b.Tags) &&
		equalStrings(a.Creators, b.Creators)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SameAttributes reports whether a and b carry the same attributes that
// are not content (Popularity, ImageURL): a change of those alone is an
// event-only change.
func (a *Item) SameAttributes(b *Item) bool {
	return a.Popularity == b.Popularity && a.ImageURL == b.ImageURL
}

// ItemFilter selects a page of items. AfterID is the keyset cursor: only items
// with a greater ID are returned, in ascending ID order.
type ItemFilter struct {
	Types []ItemType
	Genre string
	Query string // case-insensitive substring of the title
	// EmbeddingStatus keeps the items in that state; "" keeps all.
	EmbeddingStatus EmbeddingStatus
	AfterID         int64
	Limit           int
}

// ItemUpdate is a partial update; nil fields are left unchanged.
type ItemUpdate struct {
	ExternalID  *string   `json:"external_id" validate:"omitempty,max=200"`
	Type        *ItemType `json:"type" validate:"omitempty,oneof=book movie documentary podcast"`
	Title       *string   `json:"title" validate:"omitempty,max=500"`
	Description *string   `json:"description" validate:"omitempty,max=20000"`
	Genres      *[]string `json:"genres" validate:"omitempty,max=50,dive,required,max=100"`
	Tags        *[]string `json:"tags" validate:"omitempty,max=200,dive,required,max=100"`
	Creators    *[]string `json:"creators" validate:"omitempty,max=100,dive,required,max=200"`
	Year        *int      `json:"year" validate:"omitempty,min=-3000,max=2100"`
	Language    *string   `json:"language" validate:"omitempty,max=35"`
	Popularity  *int64    `json:"popularity" validate:"omitempty,min=0"`
	// ImageURL "" removes the image. Its form is checked on the updated
	// item, as Item.ImageURL, since a pointer to "" is not empty to the
	// validator.
	ImageURL *string `json:"image_url" validate:"omitempty,max=2000"`
}

// Apply copies the set fields of u onto item.
func (u ItemUpdate) Apply(item *Item) {
	if u.ExternalID != nil {
		item.ExternalID = *u.ExternalID
	}
	if u.Type != nil {
		item.Type = *u.Type
	}
	if u.Title != nil {
		item.Title = *u.Title
	}
	if u.Description != nil {
		item.Description = *u.Description
	}
	if u.Genres != nil {
		item.Genres = *u.Genres
	}
	if u.Tags != nil {
		item.Tags = *u.Tags
	}
	if u.Creators != nil {
		item.Creators = *u.Creators
	}
	if u.Year != nil {
		item.Year = *u.Year
	}
	if u.Language != nil {
		item.Language = *u.Language
	}
	if u.Popularity != nil {
		item.Popularity = *u.Popularity
	}
	if u.ImageURL != nil {
		item.ImageURL = *u.ImageURL
	}
}

// TagCount is a tag and how many items carry it.
type TagCount struct {
	Tag   string `json:"tag"`
	Items int    `json:"items"`
}

// UpsertOutcome tells what an upsert by external id did to one item.
type UpsertOutcome int

// The outcomes of an upsert.
const (
	Unchanged UpsertOutcome = iota
	Created
	Updated
)

// BatchFailure names one line of a batch that was not stored, and why.
type BatchFailure struct {
	Line   int          `json:"line"`
	Errors []FieldError `json:"errors"`
}

// BatchResult is the outcome of a batch ingest.
type BatchResult struct {
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Failed    []BatchFailure `json:"failed"`
}
