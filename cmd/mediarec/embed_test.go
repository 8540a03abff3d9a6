package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"mediarec/ingest"
	"mediarec/internal/datatest"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/postgres/pgtest"
)

// externalBus returns the env of a server on the machine's NATS, in a
// namespace of its own that is deleted after the test.
func externalBus(t *testing.T) map[string]string {
	url, ns := natstest.ExternalConfig(t)
	return map[string]string{"NATS_URL": url, "NATS_NAMESPACE": ns}
}

type embeddingStats struct {
	Model                 string
	Dimensions            int
	Pending, Done, Failed int
}

func TestEveryItemGetsEmbedded(t *testing.T) {
	movieLensDir := datatest.Dir(t, datatest.MovieLens)
	setups := map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string { return nil },
		"postgres and external NATS": func(t *testing.T) map[string]string {
			env := externalBus(t)
			env["CATALOG_DATABASE_URL"] = pgtest.NewDatabase(t)
			return env
		},
	}
	for name, setup := range setups {
		t.Run(name, func(t *testing.T) {
			m := MustRunMain(t, setup(t))
			rep, err := ingest.Run(context.Background(), ingest.Options{Server: m.URL()}, "movielens", []string{movieLensDir})
			if err != nil || rep.Created != 9742 {
				t.Fatalf("ingest: %+v, %v", rep, err)
			}
			natstest.CheckFor(t, 5*time.Minute, func() error {
				status, body := get(t, m.URL()+"/v1/admin/embedding")
				var s embeddingStats
				if err := json.Unmarshal([]byte(body), &s); status != 200 || err != nil {
					return fmt.Errorf("embedding stats %d: %s", status, body)
				}
				if s.Done != 9742 || s.Pending != 0 || s.Failed != 0 {
					return fmt.Errorf("embedding stats: %+v", s)
				}
				return nil
			})
			status, body := get(t, m.URL()+"/v1/search?q=toy+story&limit=3")
			if status != 200 {
				t.Fatalf("search: %d %s", status, body)
			}
		})
	}
}
