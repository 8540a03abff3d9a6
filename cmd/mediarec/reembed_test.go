package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mediarec/ingest"
	"mediarec/internal/datatest"
	"mediarec/internal/natsbus/natstest"
)

type embeddingView struct {
	Model, Collection     string
	Pending, Done, Failed int
	Reembed               *struct {
		JobID string `json:"job_id"`
	}
}

func embeddingOf(t *testing.T, m *Main) (embeddingView, error) {
	status, body := get(t, m.URL()+"/v1/admin/embedding")
	var v embeddingView
	if err := json.Unmarshal([]byte(body), &v); status != 200 || err != nil {
		return v, fmt.Errorf("embedding view %d: %s", status, body)
	}
	return v, nil
}

// TestRefitAndReembed loads MovieLens and shows that the catalog ends on a
// fitted model with no manual step, and that a re-embedding requested
// afterwards switches the live collection once while searches keep
// answering.
func TestRefitAndReembed(t *testing.T) {
	movieLensDir := datatest.Dir(t, datatest.MovieLens)
	m := MustRunMain(t, map[string]string{"MEDIAREC_REFIT_GROWTH": "0.2"})
	if _, err := ingest.Run(context.Background(), ingest.Options{Server: m.URL()}, "movielens", []string{movieLensDir}); err != nil {
		t.Fatal(err)
	}
	var fitted embeddingView
	// About a minute alone under -race; a CI run on a cold machine builds
	// other packages beside it on the same two cores.
	natstest.CheckFor(t, 6*time.Minute, func() error {
		v, err := embeddingOf(t, m)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(v.Model, "lsa-") || v.Reembed != nil || v.Done != 9742 {
			return fmt.Errorf("not yet on a fitted model with every item done: %+v", v)
		}
		fitted = v
		return nil
	})

	// Search throughout the re-embedding, at a steady pace that leaves the
	// workers the CPU; not one query may fail.
	var queries, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		pace := time.NewTicker(20 * time.Millisecond)
		defer pace.Stop()
		for {
			select {
			case <-stop:
				return
			case <-pace.C:
			}
			res, err := http.Get(m.URL() + "/v1/search?q=astronauts+in+space&limit=5")
			if err != nil || res.StatusCode != 200 {
				failures.Add(1)
			}
			if err == nil {
				res.Body.Close()
			}
			queries.Add(1)
		}
	})
	res, err := http.Post(m.URL()+"/v1/admin/reembed", "application/json", nil)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("reembed: %v %v", res, err)
	}
	res.Body.Close()
	collections := []string{fitted.Collection}
	natstest.CheckFor(t, 3*time.Minute, func() error {
		v, err := embeddingOf(t, m)
		if err != nil {
			return err
		}
		if v.Collection != collections[len(collections)-1] {
			collections = append(collections, v.Collection)
		}
		if v.Reembed != nil || len(collections) < 2 {
			return fmt.Errorf("re-embedding still running: %+v", v)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if len(collections) != 2 {
		t.Fatalf("live collection went through %v, want one switch", collections)
	}
	if failures.Load() != 0 || queries.Load() < 10 {
		t.Fatalf("%d of %d searches failed during the re-embedding", failures.Load(), queries.Load())
	}
	t.Logf("%d searches during the re-embedding, none failed; live collection %s → %s", queries.Load(), collections[0], collections[1])
}
