package embed_test

import (
	"context"
	"maps"
	"testing"

	"mediarec"
	"mediarec/internal/embed"
)

// createdCollections records how each collection was made, and deletes.
type createdCollections map[string]string

func (c createdCollections) CreateCollection(_ context.Context, name string, _ int) error {
	c[name] = "graph"
	return nil
}

func (c createdCollections) CreateScanCollection(_ context.Context, name string, _ int) error {
	c[name] = "scan"
	return nil
}

func (createdCollections) SetAlias(context.Context, string, string) error { return nil }

func (createdCollections) CollectionInfo(context.Context, string) (mediarec.Collection, error) {
	return mediarec.Collection{}, nil
}

func (c createdCollections) DeleteCollection(_ context.Context, name string) error {
	c[name] = "deleted"
	return nil
}

// The first generation keeps no graph only when a fitted model is to
// replace it: the local embedder with refits on.
func TestInitScansOnlyWhatAFitReplaces(t *testing.T) {
	remote := embed.NewHashing(8) // any embedder stands for a remote one
	tests := []struct {
		name       string
		remote     embed.Embedder
		fitFollows bool
		want       createdCollections
	}{
		{"local, refits on", nil, true, createdCollections{"items_hashing_256": "scan"}},
		{"local, refits off", nil, false, createdCollections{"items_hashing_256": "graph"}},
		{"remote", remote, true, createdCollections{embed.CollectionFor(remote.Model()): "graph"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := createdCollections{}
			if err := embed.NewRegistry(&embed.MemStates{}, tt.remote).Init(context.Background(), got, tt.fitFollows); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("created %v, want %v", got, tt.want)
			}
		})
	}
}
