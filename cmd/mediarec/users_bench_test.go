package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/postgres/pgtest"
)

// BenchmarkFeedbackWrites posts feedback through the API with a user's
// token, from parallel clients, on each store: each write verifies the
// token, checks the item and stores the feedback with its event in one
// transaction. Every write changes the user's judgement of its item (a like
// becomes a dislike on the next pass over the items), so every one leaves an
// event for the relay. Timing starts once the catalog has embedded its
// items, so that it measures the feedback path and not that backlog.
func BenchmarkFeedbackWrites(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			env := map[string]string{}
			if name == "postgres" {
				env["DATABASE_URL"] = pgtest.NewDatabase(b)
			}
			m := mustRunCommand(b, "serve", env, nopWriter{})
			var lines []string
			for i := range 1000 {
				lines = append(lines, fmt.Sprintf(`{"external_id":"b%d","type":"movie","title":"Film %d"}`, i, i))
			}
			res, err := http.Post(m.URL()+"/v1/items/batch", "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")))
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("load items: %v %v", res, err)
			}
			res.Body.Close()
			natstest.CheckFor(b, time.Minute, func() error {
				s, err := fetchEmbeddingStats(m.URL())
				if err == nil && (s.Done != len(lines) || s.Pending != 0) {
					err = fmt.Errorf("embedding stats %+v, want %d done", s, len(lines))
				}
				return err
			})
			var reg struct{ Token string }
			if st := call(b, "POST", m.URL()+"/v1/auth/register", "", `{"email":"bench@example.com","password":"benchmark-pass","display_name":"B"}`, &reg); st != 201 {
				b.Fatalf("register: %d", st)
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			// Idle keep-alive connections would hold up the server's
			// shutdown; cleanups run last-in first-out, so this runs first.
			b.Cleanup(client.CloseIdleConnections)
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					kind := []string{"like", "dislike"}[(i/1000)%2]
					body := fmt.Sprintf(`{"item_id":%d,"kind":%q}`, 1+i%1000, kind)
					req, _ := http.NewRequest("POST", m.URL()+"/v1/me/feedback", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+reg.Token)
					res, err := client.Do(req)
					if err != nil || res.StatusCode != 201 {
						b.Errorf("feedback: %v %v", res, err)
						return
					}
					// Read to the end, or the client cannot reuse the
					// connection and dials one per request.
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
