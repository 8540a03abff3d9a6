package natsbus_test

import (
	"bytes"
	"context"
	"testing"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/natsbus"
)

var _ embed.StateStore = (*natsbus.EmbeddingStore)(nil)

func TestEmbeddingStore(t *testing.T) {
	for name, open := range buses(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := open(t).EmbeddingStore(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.LoadState(ctx); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
				t.Fatalf("empty load: %v", err)
			}
			first := mediarec.EmbeddingState{Live: mediarec.Generation{Model: "hashing-256", Dimensions: 256, Collection: "items_hashing_256"}}
			rev, err := s.SaveState(ctx, first, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.SaveState(ctx, first, 0); mediarec.ErrorCode(err) != mediarec.ECONFLICT {
				t.Fatalf("second create: %v, want conflict", err)
			}
			second := first
			second.FittedOn = 10
			if _, err := s.SaveState(ctx, second, rev); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SaveState(ctx, second, rev); mediarec.ErrorCode(err) != mediarec.ECONFLICT {
				t.Fatalf("stale revision: %v, want conflict", err)
			}
			got, _, err := s.LoadState(ctx)
			if err != nil || got.FittedOn != 10 || got.Live != first.Live {
				t.Fatalf("load = %+v, %v", got, err)
			}

			model := bytes.Repeat([]byte("lsa"), 1<<20) // larger than one chunk
			if err := s.PutModel(ctx, "lsa-1", model); err != nil {
				t.Fatal(err)
			}
			back, err := s.GetModel(ctx, "lsa-1")
			if err != nil || !bytes.Equal(back, model) {
				t.Fatalf("model round trip: %d bytes, %v", len(back), err)
			}
			if _, err := s.GetModel(ctx, "lsa-2"); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
				t.Fatalf("missing model: %v", err)
			}
		})
	}
}
