package mediarec

// VectorPayload is what the vector store keeps beside an item's vector, so
// that searches filter without asking the catalog.
type VectorPayload struct {
	Type   ItemType `json:"type"`
	Genres []string `json:"genres"`
	Tags   []string `json:"tags"`
	Year   int      `json:"year,omitempty"`
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
