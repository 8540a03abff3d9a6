package recs

import (
	"context"

	"mediarec"
)

// ItemEvent is a catalog item event with its sequence number in the
// stream it was read from.
type ItemEvent struct {
	Seq   uint64
	Event mediarec.CatalogItemEvent
}

// ItemStore is the recs service's own copy of the catalog: the read model
// that the catalog's item events keep current, so that no answer asks the
// catalog service.
type ItemStore interface {
	// ApplyItemEvents stores each event's item, or forgets it when the
	// event says it was deleted, all or none. An event applies only when
	// its Seq is above the one stored for its item (a deleted item's
	// sequence is kept): replaying the stream, repeating an event, or a
	// slower replica sharing the store writing older events changes
	// nothing.
	ApplyItemEvents(ctx context.Context, evs []ItemEvent) error
	// FindItemByID returns one item; ENOTFOUND when unknown or deleted.
	FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error)
	// FindItemsByIDs returns the items of ids that exist, in any order.
	FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error)
	// FindPopularItems returns up to limit items of the types (every type
	// when empty), the highest Popularity first, ties by id: what a cold
	// start offers before anyone here has liked anything.
	FindPopularItems(ctx context.Context, types []mediarec.ItemType, limit int) ([]*mediarec.Item, error)
}
