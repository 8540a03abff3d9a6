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
		case "MEDIAREC_ADMIN_EMAILS":
			return demoEmail // so that the demo login sees the operator page
		}
		return ""
	}
	m := NewMain("serve", stderr)
	if err := m.ParseConfig(args, embedded, stderr); err != nil {
		return configError(stderr, "demo", err)
	}
	// The terminal shows the progress and what to do next; the logs go to
	// a file unless a log level asks for them.
	logs := "stderr"
	if getenv("MEDIAREC_LOG_LEVEL") == "" && !hasFlag(args, "log-level") {
		logs = filepath.Join(m.Config.DataDir, "mediarec.log")
		f, err := openDemoLog(logs)
		if err != nil {
			fmt.Fprintf(stderr, "mediarec demo: %v\n", err)
			return 1
		}
		defer f.Close() // after m.Close, which logs
		m.Log = newLogger(f, m.Config.LogLevel)
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
mediarec demo is running; items become searchable as they are embedded.
  Open %[1]s/ in your browser.
  Sign in as %[2]s, password %[3]s
  (an administrator: the operator page is visible).
  From a terminal:
    mediarec login --server %[1]s --email %[2]s
    mediarec recommend
    mediarec search "astronauts stranded in space"
  Logs: %[4]s
Press Ctrl+C to stop; the temporary data dir is removed on exit.
`, m.URL(), demoEmail, demoPassword, logs)

	if err := <-served; err != nil {
		fmt.Fprintf(stderr, "mediarec demo: %v\n", err)
		return 1
	}
	return 0
}

// hasFlag says whether args set the flag name, as -name, --name or
// --name=value.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); n == name && strings.HasPrefix(a, "-") {
			return true
		}
	}
	return false
}

func openDemoLog(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create the data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the log file: %w", err)
	}
	return f, nil
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
