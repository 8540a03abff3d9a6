package mediarec

import "time"

// VectorPayload is what the vector store keeps beside an item's vector, so
// that searches filter without asking the catalog.
type VectorPayload struct {
	Type   ItemType `json:"type"`
	Genres []string `json:"genres"`
	Tags   []string `json:"tags"`
	Year   int      `json:"year,omitempty"`
	// Version says what a derived vector was computed from (a profile's
	// inputs), so a reader can tell whether it is still current.
	Version string `json:"version,omitempty"`
}

// VectorPoint is one vector in a collection, keyed by the item (or profile) id.
type VectorPoint struct {
	ID      int64
	Vector  []float32
	Payload VectorPayload
}

// VectorFilter narrows a search: only the given types (all when empty), and
// never the excluded ids.
type VectorFilter struct {
	Types      []ItemType
	ExcludeIDs []int64
}

// VectorHit is one search result; Score is the cosine similarity.
type VectorHit struct {
	ID      int64
	Score   float32
	Payload VectorPayload
}

// Collection describes a vector collection.
type Collection struct {
	Name       string
	Dimensions int
	Points     int
}

// Generation is one model's vectors: searches embed queries with Model and
// read Collection, and the two only ever change together.
type Generation struct {
	Model      string `json:"model"`
	Dimensions int    `json:"dimensions"`
	Collection string `json:"collection"`
	// Endpoint and Fingerprint identify a remote model beyond its name:
	// the base URL it was served from, and the start of its vector for a
	// fixed probe text. A server that ignores the name (TEI) or a changed
	// EMBEDDING_DIMENSIONS gives other vectors under the same name.
	Endpoint    string `json:"endpoint,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// EmbeddingState is shared by every process: the live generation, the one a
// re-embedding is building, and the catalog size at the last local fit.
type EmbeddingState struct {
	Live     Generation  `json:"live"`
	Target   *Generation `json:"target,omitempty"`
	JobID    string      `json:"job_id,omitempty"`
	Total    int         `json:"total,omitempty"` // items queued for the target
	FittedOn int         `json:"fitted_on,omitempty"`
	// Retired is the collection the live one replaced, at RetiredAt; it
	// is deleted once every reader has moved on (see embed.retiredGrace),
	// or when the next re-embedding starts.
	Retired   string    `json:"retired,omitempty"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
	// Blocked says why the target, complete, is not switched to: too many
	// of its items failed to embed. Empty while it is not.
	Blocked string `json:"blocked,omitempty"`
}
