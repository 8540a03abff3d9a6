package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"mediarec/demo"
	"mediarec/ingest"
)

// runDemo serves on a temporary data dir with embedded defaults and loads the
// bundled catalog through the same batch API an operator's ingest uses.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	dir, err := os.MkdirTemp("", "mediarec-demo-*")
	if err != nil {
		fmt.Fprintf(stderr, "mediarec demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	// The demo always runs on the embedded defaults, whatever the shell says
	// about external services.
	embedded := func(key string) string {
		switch key {
		case "MEDIAREC_DATA_DIR":
			return dir
		case "MEDIAREC_ADDR", "MEDIAREC_ADMIN_TOKEN", "MEDIAREC_LOG_LEVEL":
			return getenv(key)
		}
		return ""
	}
	m := NewMain("serve", stderr)
	if err := m.ParseConfig(args, embedded, stderr); err != nil {
		return configError(stderr, "demo", err)
	}
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "mediarec demo: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- m.Run(ctx) }()

	catalogFile := filepath.Join(dir, "demo-catalog.jsonl")
	if err := writeDemoCatalog(catalogFile); err != nil {
		fmt.Fprintf(stderr, "mediarec demo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Loading the demo catalog into %s …\n", m.URL())
	report, err := ingest.Run(ctx, ingest.Options{Server: m.URL(), Token: m.Config.AdminToken, Progress: stderr}, "jsonl", []string{catalogFile})
	if err != nil {
		fmt.Fprintf(stderr, "mediarec demo: load the catalog: %v\n", err)
		return 1
	}
	report.Print(stdout)
	if err := registerDemoUser(ctx, m.URL()); err != nil {
		fmt.Fprintf(stderr, "mediarec demo: create the demo user: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, `
mediarec demo is running. Items become searchable as they are embedded;
the local model is refitted on the catalog once that has settled.
  Browse:    %[1]s/
  Search:    curl '%[1]s/v1/search?q=astronauts+stranded+in+space&types=movie,book'
  Catalog:   curl '%[1]s/v1/items?type=documentary&limit=5'
  Embedding: curl '%[1]s/v1/admin/embedding'
  Health:    %[1]s/healthz  %[1]s/readyz  %[1]s/metrics
  Log in:    curl -X POST %[1]s/v1/auth/login -d '{"email":"%[2]s","password":"%[3]s"}'
             (then: curl -H "Authorization: Bearer <token>" %[1]s/v1/me)
Press Ctrl+C to stop; the temporary data dir is removed on exit.
`, m.URL(), demoEmail, demoPassword)

	if err := <-served; err != nil {
		fmt.Fprintf(stderr, "mediarec demo: %v\n", err)
		return 1
	}
	return 0
}

func writeDemoCatalog(path string) error {
	src, err := demo.Catalog()
	if err != nil {
		return fmt.Errorf("open the bundled catalog: %w", err)
	}
	defer src.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the demo catalog: %w", err)
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return fmt.Errorf("write the demo catalog: %w", err)
	}
	return f.Close()
}

// The demo login; the demo's data dir is temporary and listens on loopback.
const (
	demoEmail    = "demo@mediarec.local"
	demoPassword = "demo-password"
)

func registerDemoUser(ctx context.Context, server string) error {
	body := fmt.Sprintf(`{"email":%q,"password":%q,"display_name":"Demo"}`, demoEmail, demoPassword)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/v1/auth/register", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("register answered %s", res.Status)
	}
	return nil
}
