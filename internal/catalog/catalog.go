// Package catalog holds the business rules of the catalog service: items of
// the four media types, their validation, listing and bulk ingestion.
package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"mediarec"
)

// Store persists items. Implementations: internal/sqlite and internal/postgres.
type Store interface {
	// FindItemByID returns ENOTFOUND for an unknown id.
	FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error)
	// FindItems returns up to f.Limit items with ID > f.AfterID in ID order.
	FindItems(ctx context.Context, f mediarec.ItemFilter) ([]*mediarec.Item, error)
	// FindItemsByIDs returns the items that exist among ids, in no set order.
	FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error)
	// CreateItem sets item's ID, timestamps and pending status. ECONFLICT when
	// the external id is taken.
	CreateItem(ctx context.Context, item *mediarec.Item) error
	// UpdateItem returns ENOTFOUND or ECONFLICT (external id taken).
	UpdateItem(ctx context.Context, id int64, upd mediarec.ItemUpdate) (*mediarec.Item, error)
	// DeleteItem returns ENOTFOUND for an unknown id.
	DeleteItem(ctx context.Context, id int64) error
	// UpsertItems inserts or updates items by external id in one transaction
	// and sets each item's ID. An item whose content is unchanged is left
	// alone. Every item has a distinct, non-empty external id.
	UpsertItems(ctx context.Context, items []*mediarec.Item) ([]mediarec.UpsertOutcome, error)
	// SetEmbeddingStatuses records results in one transaction, each unless
	// it is for an older version of its item; a result that changes an
	// item's status also records an event-only change (see ChangeStore).
	// Of two results for one item, the later one holds.
	SetEmbeddingStatuses(ctx context.Context, rs []mediarec.EmbedResult) error
	// CountEmbeddingStatus counts items per embedding status.
	CountEmbeddingStatus(ctx context.Context) (map[mediarec.EmbeddingStatus]int, error)
	// CountEmbeddingStatusByType counts items per type and embedding
	// status, leaving out the pairs no item has.
	CountEmbeddingStatusByType(ctx context.Context) (map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int, error)
	// FindTopTags returns up to limit tags of the items of types (of every
	// type when empty) with how many items carry each, the most common
	// first, ties by tag in byte order.
	FindTopTags(ctx context.Context, types []mediarec.ItemType, limit int) ([]mediarec.TagCount, error)
	// EnqueueAll records a change of every item, for re-embedding into
	// collection, and returns how many.
	EnqueueAll(ctx context.Context, collection string) (int, error)
}

// ChangeStore is the outbox side of a store: the entries every item write
// leaves, each with the trace context of the write's request, read by the
// relay.
type ChangeStore interface {
	// FindChanges returns up to limit outbox entries, oldest first.
	FindChanges(ctx context.Context, limit int) ([]mediarec.ItemChange, error)
	// DeleteChanges removes published entries.
	DeleteChanges(ctx context.Context, seqs []int64) error
	// CountChanges returns how many entries wait: the outbox's depth,
	// which the relay reports.
	CountChanges(ctx context.Context) (int, error)
	// FindItemsByIDs returns the items that exist among ids.
	FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error)
}

// Page limits of FindItems.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// MaxBatchLines bounds one batch request, so one request cannot hold a
// transaction open for long.
const MaxBatchLines = 10000

// Service enforces the catalog's rules on top of a Store.
type Service struct {
	store   Store
	log     *slog.Logger
	changed func()
	tags    tagCache
}

// New returns a catalog service over store. changed, if not nil, is called
// after every write that left outbox entries (Relay.Notify).
func New(store Store, log *slog.Logger, changed func()) *Service {
	if changed == nil {
		changed = func() {}
	}
	return &Service{store: store, log: log, changed: changed, tags: tagCache{now: time.Now}}
}

// RecordEmbeddings stores a batch of workers' results, one transaction for
// all (at a million items, one per result would take longer than the
// embedding), and returns an error per result: a malformed one is refused
// alone, and a failed write fails them all.
func (s *Service) RecordEmbeddings(ctx context.Context, rs []mediarec.EmbedResult) []error {
	errs := make([]error, len(rs))
	valid := make([]mediarec.EmbedResult, 0, len(rs))
	for i, r := range rs {
		if r.ItemID <= 0 || (r.Status != mediarec.EmbeddingDone && r.Status != mediarec.EmbeddingFailed) {
			errs[i] = mediarec.Errorf(mediarec.EINVALID, "Invalid embedding result for item %d.", r.ItemID)
			continue
		}
		valid = append(valid, r)
	}
	if len(valid) == 0 {
		return errs
	}
	if err := s.store.SetEmbeddingStatuses(ctx, valid); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	s.changed() // a changed status has an item event to announce
	return errs
}

// EachItem calls fn for every item in id order, a page at a time.
func (s *Service) EachItem(ctx context.Context, fn func(*mediarec.Item) error) error {
	after := int64(0)
	for {
		items, err := s.store.FindItems(ctx, mediarec.ItemFilter{AfterID: after, Limit: MaxLimit})
		if err != nil {
			return fmt.Errorf("read items after %d: %w", after, err)
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(items) < MaxLimit {
			return nil
		}
		after = items[len(items)-1].ID
	}
}

// EnqueueAll queues every item for embedding into collection.
func (s *Service) EnqueueAll(ctx context.Context, collection string) (int, error) {
	n, err := s.store.EnqueueAll(ctx, collection)
	if err != nil {
		return 0, err
	}
	s.changed()
	return n, nil
}

// EmbeddingStats counts the items per embedding status.
func (s *Service) EmbeddingStats(ctx context.Context) (map[mediarec.EmbeddingStatus]int, error) {
	return s.store.CountEmbeddingStatus(ctx)
}

// EmbeddingCounts counts items per embedding status, in all and per type.
// Every type and every status is present, zeros included.
type EmbeddingCounts struct {
	Total  map[mediarec.EmbeddingStatus]int
	ByType map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int
}

// EmbeddingCounts counts the items per type and embedding status, and in
// all, with one query.
func (s *Service) EmbeddingCounts(ctx context.Context) (*EmbeddingCounts, error) {
	byType, err := s.store.CountEmbeddingStatusByType(ctx)
	if err != nil {
		return nil, err
	}
	out := &EmbeddingCounts{Total: zeroCounts(), ByType: make(map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int, len(mediarec.ItemTypes))}
	for _, t := range mediarec.ItemTypes {
		out.ByType[t] = zeroCounts()
	}
	for t, counts := range byType {
		if out.ByType[t] == nil {
			out.ByType[t] = zeroCounts()
		}
		for st, n := range counts {
			out.ByType[t][st] += n
			out.Total[st] += n
		}
	}
	return out, nil
}

func zeroCounts() map[mediarec.EmbeddingStatus]int {
	m := make(map[mediarec.EmbeddingStatus]int, len(mediarec.EmbeddingStatuses))
	for _, st := range mediarec.EmbeddingStatuses {
		m[st] = 0
	}
	return m
}

// ListQuery is a page request as a client states it.
type ListQuery struct {
	Types           []mediarec.ItemType
	Genre           string
	Query           string
	EmbeddingStatus mediarec.EmbeddingStatus
	Limit           int
	Cursor          string
}

// MaxIDs bounds how many items one request may name by id.
const MaxIDs = 100

// Page is one page of items; NextCursor is empty on the last page.
type Page struct {
	Items      []*mediarec.Item `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

// FindItemByID returns one item or ENOTFOUND.
func (s *Service) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	return s.store.FindItemByID(ctx, id)
}

// ItemExists reports whether an item exists, for services that refer to
// items (feedback).
func (s *Service) ItemExists(ctx context.Context, id int64) (bool, error) {
	_, err := s.store.FindItemByID(ctx, id)
	switch mediarec.ErrorCode(err) {
	case "":
		return true, nil
	case mediarec.ENOTFOUND:
		return false, nil
	}
	return false, err
}

// FindItemsByIDs returns the items that exist among ids, in the order of
// ids, each once; EINVALID for more than MaxIDs ids.
func (s *Service) FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error) {
	if len(ids) > MaxIDs {
		return nil, &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid query parameters.", Fields: []mediarec.FieldError{
			{Field: "ids", Message: fmt.Sprintf("must list at most %d ids; this lists %d", MaxIDs, len(ids))},
		}}
	}
	if len(ids) == 0 {
		return []*mediarec.Item{}, nil
	}
	items, err := s.store.FindItemsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*mediarec.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	out := make([]*mediarec.Item, 0, len(items))
	for _, id := range ids {
		if it, ok := byID[id]; ok {
			out = append(out, it)
			delete(byID, id) // a repeated id names the item once
		}
	}
	return out, nil
}

// FindItems returns a page of items matching q.
func (s *Service) FindItems(ctx context.Context, q ListQuery) (*Page, error) {
	var fields []mediarec.FieldError
	for _, t := range q.Types {
		if !t.Valid() {
			fields = append(fields, mediarec.FieldError{Field: "type", Message: fmt.Sprintf("unknown type %q: want one of book, movie, documentary, podcast", t)})
		}
	}
	if q.EmbeddingStatus != "" && !q.EmbeddingStatus.Valid() {
		fields = append(fields, mediarec.FieldError{Field: "embedding_status", Message: "must be one of pending, done, failed"})
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	} else if q.Limit < 1 || q.Limit > MaxLimit {
		fields = append(fields, mediarec.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxLimit)})
	}
	after, err := DecodeCursor(q.Cursor)
	if err != nil {
		fields = append(fields, mediarec.FieldError{Field: "cursor", Message: "not a cursor this server issued"})
	}
	if len(fields) > 0 {
		return nil, &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid query parameters.", Fields: fields}
	}

	items, err := s.store.FindItems(ctx, mediarec.ItemFilter{
		Types: q.Types, Genre: strings.TrimSpace(q.Genre), Query: strings.TrimSpace(q.Query),
		EmbeddingStatus: q.EmbeddingStatus, AfterID: after, Limit: q.Limit + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("find items: %w", err)
	}
	page := &Page{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		page.NextCursor = EncodeCursor(page.Items[q.Limit-1].ID)
	}
	return page, nil
}

// CreateItem validates and stores a new item.
func (s *Service) CreateItem(ctx context.Context, item *mediarec.Item) error {
	normalize(item)
	if err := validateItem(item); err != nil {
		return err
	}
	if err := s.store.CreateItem(ctx, item); err != nil {
		return err
	}
	s.changed()
	return nil
}

// UpdateItem applies a partial update to an item.
func (s *Service) UpdateItem(ctx context.Context, id int64, upd mediarec.ItemUpdate) (*mediarec.Item, error) {
	if err := validateUpdate(upd); err != nil {
		return nil, err
	}
	item, err := s.store.FindItemByID(ctx, id)
	if err != nil {
		return nil, err
	}
	// Validate the item as it would be after the update, so an update cannot
	// produce an item that a create would refuse (an empty title, say).
	upd.Apply(item)
	normalize(item)
	if err := validateItem(item); err != nil {
		return nil, err
	}
	updated, err := s.store.UpdateItem(ctx, id, updateOf(item))
	if err != nil {
		return nil, err
	}
	s.changed()
	return updated, nil
}

// DeleteItem removes an item.
func (s *Service) DeleteItem(ctx context.Context, id int64) error {
	if err := s.store.DeleteItem(ctx, id); err != nil {
		return err
	}
	s.changed()
	return nil
}

// UpsertItem creates or replaces the item with the given external id.
func (s *Service) UpsertItem(ctx context.Context, externalID string, item *mediarec.Item) (mediarec.UpsertOutcome, error) {
	item.ExternalID = externalID
	normalize(item)
	if item.ExternalID == "" {
		return 0, &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid item.", Fields: []mediarec.FieldError{{Field: "external_id", Message: "is required"}}}
	}
	if err := validateItem(item); err != nil {
		return 0, err
	}
	outcomes, err := s.store.UpsertItems(ctx, []*mediarec.Item{item})
	if err != nil {
		return 0, fmt.Errorf("upsert item %q: %w", externalID, err)
	}
	s.changed()
	return outcomes[0], nil
}

// BatchLine is one decoded line of a batch. Err is set when the line could
// not be decoded; Item is nil then.
type BatchLine struct {
	Line int
	Item *mediarec.Item
	Err  error
}

// IngestBatch upserts every valid line by external id in one transaction and
// names each invalid line. A line without an external id gets one derived
// from its type, title and year, so that re-sending a file changes nothing.
func (s *Service) IngestBatch(ctx context.Context, lines []BatchLine) (*mediarec.BatchResult, error) {
	if len(lines) > MaxBatchLines {
		return nil, mediarec.Errorf(mediarec.EINVALID, "A batch holds at most %d lines; this one has %d.", MaxBatchLines, len(lines))
	}
	res := &mediarec.BatchResult{Failed: []mediarec.BatchFailure{}}
	items := make([]*mediarec.Item, 0, len(lines))
	firstLine := make(map[string]int, len(lines))
	for _, l := range lines {
		if l.Err != nil {
			res.Failed = append(res.Failed, mediarec.BatchFailure{Line: l.Line, Errors: fieldsOf(l.Err)})
			continue
		}
		normalize(l.Item)
		if err := validateItem(l.Item); err != nil {
			res.Failed = append(res.Failed, mediarec.BatchFailure{Line: l.Line, Errors: fieldsOf(err)})
			continue
		}
		if l.Item.ExternalID == "" {
			l.Item.ExternalID = derivedExternalID(l.Item)
		}
		if first, ok := firstLine[l.Item.ExternalID]; ok {
			res.Failed = append(res.Failed, mediarec.BatchFailure{Line: l.Line, Errors: []mediarec.FieldError{{
				Field: "external_id", Message: fmt.Sprintf("duplicates line %d of this batch", first),
			}}})
			continue
		}
		firstLine[l.Item.ExternalID] = l.Line
		items = append(items, l.Item)
	}
	if len(items) == 0 {
		return res, nil
	}
	outcomes, err := s.store.UpsertItems(ctx, items)
	if err != nil {
		return nil, fmt.Errorf("ingest batch of %d items: %w", len(items), err)
	}
	s.changed()
	for _, o := range outcomes {
		switch o {
		case mediarec.Created:
			res.Created++
		case mediarec.Updated:
			res.Updated++
		default:
			res.Unchanged++
		}
	}
	return res, nil
}

// derivedExternalID names an item by its content so the same line always maps
// to the same item.
func derivedExternalID(item *mediarec.Item) string {
	sum := sha256.Sum256([]byte(string(item.Type) + "\x00" + strings.ToLower(item.Title) + "\x00" + strconv.Itoa(item.Year)))
	return "auto:" + hex.EncodeToString(sum[:12])
}

// EncodeCursor returns the opaque cursor that resumes a listing after id.
func EncodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("i" + strconv.FormatInt(id, 10)))
}

// DecodeCursor returns the id a cursor resumes after; "" means the start.
func DecodeCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) < 2 || raw[0] != 'i' {
		return 0, mediarec.Errorf(mediarec.EINVALID, "Invalid cursor.")
	}
	id, err := strconv.ParseInt(string(raw[1:]), 10, 64)
	if err != nil || id < 0 {
		return 0, mediarec.Errorf(mediarec.EINVALID, "Invalid cursor.")
	}
	return id, nil
}

func updateOf(item *mediarec.Item) mediarec.ItemUpdate {
	return mediarec.ItemUpdate{
		ExternalID: &item.ExternalID, Type: &item.Type, Title: &item.Title,
		Description: &item.Description, Genres: &item.Genres, Tags: &item.Tags,
		Creators: &item.Creators, Year: &item.Year, Language: &item.Language,
		Popularity: &item.Popularity, ImageURL: &item.ImageURL,
	}
}
