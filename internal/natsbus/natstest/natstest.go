// Package natstest gives tests a bus: the embedded server, or the real NATS
// server of the development machine in a namespace of the test's own.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"mediarec/internal/natsbus"
)

// CheckFor polls cond until it returns nil, failing the test with cond's
// last error once within has passed. Asynchronous effects (a message
// consumed, an item embedded) are awaited with it, never with sleeps.
func CheckFor(tb testing.TB, within time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Embedded returns a bus on an in-process server with JetStream in a
// temporary directory, closed when the test ends.
func Embedded(tb testing.TB) *natsbus.Bus {
	tb.Helper()
	b, err := natsbus.Open(context.Background(), natsbus.Options{Dir: tb.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// External returns a bus on the server at TEST_NATS_URL (default
// nats://127.0.0.1:4222), in a fresh namespace whose streams are deleted when
// the test ends. Without a reachable server the test skips, or fails when
// CI=true.
func External(tb testing.TB) *natsbus.Bus {
	tb.Helper()
	b, _, _ := external(tb)
	return b
}

// ExternalConfig is External for a test that connects on its own (a server
// under test): it returns the URL and the namespace to use.
func ExternalConfig(tb testing.TB) (url, namespace string) {
	tb.Helper()
	_, url, namespace = external(tb)
	return url, namespace
}

func external(tb testing.TB) (*natsbus.Bus, string, string) {
	tb.Helper()
	url := os.Getenv("TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	var raw [6]byte
	_, _ = rand.Read(raw[:])
	ns := "test" + hex.EncodeToString(raw[:])
	ctx := context.Background()
	b, err := natsbus.Open(ctx, natsbus.Options{URL: url, Namespace: ns}, slog.New(slog.DiscardHandler))
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("NATS at %s: %v", url, err)
		}
		tb.Skipf("NATS at %s not reachable (set CI=true to fail instead): %v", url, err)
	}
	tb.Cleanup(func() {
		if err := b.DeleteStreams(ctx); err != nil {
			tb.Errorf("delete test streams: %v", err)
		}
		b.Close()
	})
	return b, url, ns
}
