package embed

import (
	"context"
	"strings"

	"mediarec"
)

// DefaultDimensions is the vector length of the local embedder.
const DefaultDimensions = 256

// LiveAlias names the collection searches read and jobs without a target
// write: an alias, so that a re-embedding can switch it in one step.
const LiveAlias = "items"

// CollectionStore is what generations need of the vector store.
type CollectionStore interface {
	CreateCollection(ctx context.Context, name string, dim int) error
	// CreateScanCollection makes a collection without a graph, searched
	// by exact scans: inserts cost only the copy of the vector.
	CreateScanCollection(ctx context.Context, name string, dim int) error
	SetAlias(ctx context.Context, alias, collection string) error
	CollectionInfo(ctx context.Context, name string) (mediarec.Collection, error)
	DeleteCollection(ctx context.Context, name string) error
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
