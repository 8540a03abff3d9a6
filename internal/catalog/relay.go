package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"mediarec"
	"mediarec/internal/outbox"
	"mediarec/internal/tracing"
)

// Publisher is what the relay needs of the message bus.
type Publisher interface {
	// Publish stores data on subject; msgID de-duplicates re-publishing.
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// Generations tells the relay where vectors go: the live generation, and
// the one a re-embedding is building.
type Generations interface {
	State(ctx context.Context) (mediarec.EmbeddingState, error)
}

// relayBatch bounds one pass of the relay.
const relayBatch = 500

// Relay publishes the outbox to the bus: for every item change the store
// recorded, the item's event on catalog.items.v1 (how other services keep
// their copy of the catalog) and its embed jobs, each with the item's
// current content; it deletes entries only once the bus has them. While
// the bus is away entries wait in the outbox, so no change is lost.
//
// Delivery is at least once, and an event says how the item is when it is
// relayed, not how it was when the change was written: an update relayed
// after the item was deleted announces the deletion, and the delete's own
// entry announces it again. Consumers overwrite, so repeats change nothing.
type Relay struct {
	*outbox.Poller
	store ChangeStore
	pub   Publisher
	gens  Generations
	now   func() time.Time
}

// NewRelay returns a relay from store to pub; Run it, and Notify it after
// writes. ReportDepth (before Run) has it report the outbox's depth.
func NewRelay(store ChangeStore, pub Publisher, gens Generations, log *slog.Logger) *Relay {
	r := &Relay{store: store, pub: pub, gens: gens, now: time.Now}
	r.Poller = outbox.NewPoller(func(ctx context.Context) (bool, error) {
		n, err := r.relayOnce(ctx)
		return n < relayBatch, err
	}, store.CountChanges, log)
	return r
}

// relayOnce publishes one batch of outbox entries and returns how many.
func (r *Relay) relayOnce(ctx context.Context) (int, error) {
	changes, err := r.store.FindChanges(ctx, relayBatch)
	if err != nil || len(changes) == 0 {
		return 0, err
	}
	ids := make([]int64, 0, len(changes))
	for _, c := range changes {
		if !c.Deleted {
			ids = append(ids, c.ItemID)
		}
	}
	items, err := r.store.FindItemsByIDs(ctx, ids)
	if err != nil {
		return 0, err
	}
	byID := make(map[int64]*mediarec.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	state, err := r.gens.State(ctx)
	if err != nil {
		return 0, fmt.Errorf("embedding state: %w", err)
	}
	seqs := make([]int64, 0, len(changes))
	for _, c := range changes {
		// Each entry's messages continue the trace of the request that
		// wrote it.
		ctx := tracing.ContextWithTraceParent(ctx, c.TraceParent)
		if c.Collection == "" { // an item change, not a re-embedding entry
			if err := r.publishEvent(ctx, c, byID[c.ItemID]); err != nil {
				return 0, errors.Join(err, r.store.DeleteChanges(ctx, seqs))
			}
		}
		if c.EventOnly {
			seqs = append(seqs, c.Seq)
			continue
		}
		for _, gen := range destinations(c, state) {
			data, err := json.Marshal(jobFor(c, byID[c.ItemID], gen))
			if err != nil {
				return 0, fmt.Errorf("encode job for item %d: %w", c.ItemID, err)
			}
			msgID := "change-" + strconv.FormatInt(c.Seq, 10) + "-" + gen.Collection
			if err := r.pub.Publish(ctx, mediarec.SubjectEmbedJobs, msgID, data); err != nil {
				// What was published stays published; drop those entries
				// and retry the rest later.
				return 0, errors.Join(fmt.Errorf("publish job for item %d: %w", c.ItemID, err), r.store.DeleteChanges(ctx, seqs))
			}
		}
		seqs = append(seqs, c.Seq)
	}
	if err := r.store.DeleteChanges(ctx, seqs); err != nil {
		return 0, err
	}
	return len(changes), nil
}

// publishEvent announces an item change: the item as it is now, or its
// deletion when it is gone (item nil).
func (r *Relay) publishEvent(ctx context.Context, c mediarec.ItemChange, item *mediarec.Item) error {
	ev := mediarec.CatalogItemEvent{
		SchemaVersion: mediarec.CatalogEventSchemaVersion, ItemID: c.ItemID, Version: c.Version,
		Deleted: true, OccurredAt: r.now().UTC(),
	}
	if item != nil {
		ev.Version, ev.Deleted, ev.Item = item.Version, false, item
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event of item %d: %w", c.ItemID, err)
	}
	msgID := "item-" + strconv.FormatInt(c.Seq, 10)
	if err := r.pub.Publish(ctx, mediarec.ItemSubject(c.ItemID), msgID, data); err != nil {
		return fmt.Errorf("publish event of item %d: %w", c.ItemID, err)
	}
	return nil
}

// destinations are the generations a change must reach: an item change
// goes to the live one and, during a re-embedding, to the target too; an
// entry queued for one collection goes there alone, or nowhere once that
// re-embedding is over.
func destinations(c mediarec.ItemChange, s mediarec.EmbeddingState) []mediarec.Generation {
	var out []mediarec.Generation
	for _, g := range []*mediarec.Generation{&s.Live, s.Target} {
		if g != nil && g.Collection != "" && (c.Collection == "" || c.Collection == g.Collection) {
			out = append(out, *g)
		}
	}
	return out
}

// jobFor builds the job of a change. It carries the item as it is now, not
// as it was at the change: a later change makes an earlier one's content
// stale, and the version tells the catalog which content a result is for.
func jobFor(c mediarec.ItemChange, item *mediarec.Item, gen mediarec.Generation) mediarec.EmbedJob {
	if c.Deleted || item == nil {
		return mediarec.EmbedJob{ItemID: c.ItemID, Version: c.Version, Deleted: true, Collection: gen.Collection, Model: gen.Model}
	}
	return mediarec.EmbedJob{ItemID: item.ID, Version: item.Version, Item: item, Collection: gen.Collection, Model: gen.Model}
}
