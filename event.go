package mediarec

// Subjects of the message bus. Each payload below is a versioned contract:
// a change that breaks consumers gets a new subject suffix.
const (
	// SubjectEmbedJobs carries EmbedJob from the catalog to embed workers.
	SubjectEmbedJobs = "embed.jobs.v1"
	// SubjectEmbedResults carries EmbedResult from workers to the catalog.
	SubjectEmbedResults = "embed.results.v1"
)

// EmbedJob asks a worker to (re-)embed one item, or to remove its vector.
// Version is the item's content version: results for an older version than
// the catalog holds are ignored.
type EmbedJob struct {
	ItemID  int64 `json:"item_id"`
	Version int   `json:"version"`
	Deleted bool  `json:"deleted,omitempty"`
	// Item is the content to embed; nil when Deleted.
	Item *Item `json:"item,omitempty"`
	// Collection is the vector collection to write and Model the model to
	// embed with: one generation.
	Collection string `json:"collection"`
	Model      string `json:"model"`
}

// EmbedResult reports what a worker did with an EmbedJob.
type EmbedResult struct {
	ItemID  int64           `json:"item_id"`
	Version int             `json:"version"`
	Status  EmbeddingStatus `json:"status"`
	Model   string          `json:"model,omitempty"`
	// Collection is where the vector went.
	Collection string `json:"collection,omitempty"`
	Error      string `json:"error,omitempty"`
}

// ItemChange is an outbox entry: an item changed (or was deleted, or is due
// for re-embedding into Collection) and its embedding must follow. Seq orders
// the entries and identifies them to the bus for de-duplication.
type ItemChange struct {
	Seq        int64
	ItemID     int64
	Version    int
	Deleted    bool
	Collection string
}
