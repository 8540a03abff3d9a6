package mediarec

import (
	"strconv"
	"time"
)

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
// for re-embedding into Collection) and its embedding must follow; or, when
// EventOnly, only its embedding status changed, which its item event
// announces without asking for an embedding. Seq orders the entries and
// identifies them to the bus for de-duplication. TraceParent is the W3C
// traceparent of the request that made the change, "" if none: the
// messages relayed from the entry continue that trace.
type ItemChange struct {
	Seq         int64
	ItemID      int64
	Version     int
	Deleted     bool
	Collection  string
	EventOnly   bool
	TraceParent string
}

// Subjects of the users service. Each event goes out on the subject of what
// it describes, FeedbackSubject(user, item) or PreferencesSubject(user), and
// carries that thing's full current state, not a delta: the bus keeps only
// the latest event of each subject, so the stream is the current state of
// every user's feedback and preferences, and a consumer that sees an event
// twice or out of order can simply overwrite.
const (
	// SubjectUserFeedback prefixes the subjects of UserFeedbackEvent.
	SubjectUserFeedback = "user.feedback.v1"
	// SubjectUserPreferences prefixes the subjects of UserPreferencesEvent.
	SubjectUserPreferences = "user.preferences.v1"
)

// FeedbackSubject is the subject of a user's feedback on an item.
func FeedbackSubject(userID, itemID int64) string {
	return SubjectUserFeedback + "." + strconv.FormatInt(userID, 10) + "." + strconv.FormatInt(itemID, 10)
}

// PreferencesSubject is the subject of a user's preferences.
func PreferencesSubject(userID int64) string {
	return SubjectUserPreferences + "." + strconv.FormatInt(userID, 10)
}

// UserEventSchemaVersion is the SchemaVersion of the users' events. A
// compatible addition bumps it; a breaking change gets a new subject.
const UserEventSchemaVersion = 1

// UserFeedbackEvent says that a user's feedback on an item is now Kind and
// Rating, or that it was removed (Deleted).
type UserFeedbackEvent struct {
	SchemaVersion int          `json:"schema_version"`
	UserID        int64        `json:"user_id"`
	ItemID        int64        `json:"item_id"`
	Kind          FeedbackKind `json:"kind,omitempty"`
	Rating        float64      `json:"rating,omitempty"`
	Deleted       bool         `json:"deleted,omitempty"`
	OccurredAt    time.Time    `json:"occurred_at"`
}

// UserPreferencesEvent says that a user's preferences are now Preferences.
type UserPreferencesEvent struct {
	SchemaVersion int         `json:"schema_version"`
	UserID        int64       `json:"user_id"`
	Preferences   Preferences `json:"preferences"`
	OccurredAt    time.Time   `json:"occurred_at"`
}

// OutboxEvent is a message written in the same transaction as the change it
// announces, waiting to be published on Subject. Seq orders the entries and
// identifies them to the bus for de-duplication; the store assigns it.
type OutboxEvent struct {
	Seq     int64
	Subject string
	Payload []byte
}

// SubjectCatalogItems prefixes the subjects of CatalogItemEvent: one subject
// per item, ItemSubject(id). Like the users' events, each carries the item's
// full current state and the bus keeps only the latest of each subject, so
// the stream is the current catalog: a service that reads it from the start
// builds its own copy (a read model) and keeps it current.
const SubjectCatalogItems = "catalog.items.v1"

// ItemSubject is the subject of an item's change events.
func ItemSubject(id int64) string {
	return SubjectCatalogItems + "." + strconv.FormatInt(id, 10)
}

// CatalogEventSchemaVersion is the SchemaVersion of the catalog's events.
const CatalogEventSchemaVersion = 1

// CatalogItemEvent says that an item is now Item (at Version), or that it
// was deleted (Deleted, Item nil).
type CatalogItemEvent struct {
	SchemaVersion int       `json:"schema_version"`
	ItemID        int64     `json:"item_id"`
	Version       int       `json:"version"`
	Deleted       bool      `json:"deleted,omitempty"`
	Item          *Item     `json:"item,omitempty"`
	OccurredAt    time.Time `json:"occurred_at"`
}
