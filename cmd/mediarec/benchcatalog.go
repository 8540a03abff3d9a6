package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"mediarec"
	"mediarec/ingest"
	"mediarec/internal/synth"
)

// benchCatalog is the catalog file a bench loads and the real items in it,
// which the queries are made from.
type benchCatalog struct {
	path string
	real []*mediarec.Item
}

// writeBenchCatalog writes n distinct items as JSON Lines, the format
// mediarec ingest reads: the real items of src first, with their own
// external ids (MovieLens movies keep "movielens:<movieId>", which the
// rating replay maps through), then synth mixes "synth:<k>". No text
// repeats: a repeated text is a duplicate vector, which flatters an index.
func writeBenchCatalog(path string, src *synth.Source, n int, seed uint64) (*benchCatalog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	cat := &benchCatalog{path: path}
	w := bufio.NewWriterSize(f, 1<<20)
	err = src.Generate(n, seed, func(it *mediarec.Item) error {
		if !strings.HasPrefix(it.ExternalID, "synth:") {
			cat.real = append(cat.real, it)
		}
		line, err := ingest.MarshalItem(it)
		if err != nil {
			return fmt.Errorf("item %s: %w", it.ExternalID, err)
		}
		_, err = w.Write(append(line, '\n'))
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return nil, err
	}
	return cat, nil
}
