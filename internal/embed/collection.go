package embed

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"mediarec"
)

// DefaultDimensions is the vector length of the local embedder.
const DefaultDimensions = 256

// LiveAlias names the collection searches read and jobs without a target
// write: an alias, so that a re-embedding can switch it in one step.
const LiveAlias = "items"

// CollectionStore is what EnsureLive needs of the vector store.
type CollectionStore interface {
	CreateCollection(ctx context.Context, name string, dim int) error
	SetAlias(ctx context.Context, alias, collection string) error
	ResolveAlias(ctx context.Context, alias string) (string, error)
}

// CollectionFor names the collection of a model's vectors.
func CollectionFor(model string) string {
	return "items_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, model)
}

// EnsureLive makes sure the live alias exists, creating the collection of
// e's model on first start. An alias already in place is left alone: it
// moves only when a re-embedding completes.
func EnsureLive(ctx context.Context, store CollectionStore, e Embedder, log *slog.Logger) error {
	want := CollectionFor(e.Model())
	current, err := store.ResolveAlias(ctx, LiveAlias)
	switch {
	case err == nil:
		if current != want {
			log.Warn("the live collection holds another model's vectors; re-embed to switch",
				"live", current, "model_collection", want)
		}
		return nil
	case mediarec.ErrorCode(err) != mediarec.ENOTFOUND:
		return fmt.Errorf("resolve %s: %w", LiveAlias, err)
	}
	if err := store.CreateCollection(ctx, want, e.Dimensions()); err != nil && mediarec.ErrorCode(err) != mediarec.ECONFLICT {
		return fmt.Errorf("create %s: %w", want, err)
	}
	if err := store.SetAlias(ctx, LiveAlias, want); err != nil {
		return fmt.Errorf("point %s at %s: %w", LiveAlias, want, err)
	}
	return nil
}
