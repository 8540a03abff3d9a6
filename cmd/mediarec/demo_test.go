package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mediarec/internal/natsbus/natstest"
)

// TestDemoTerminal runs the demo as a person does and checks what the
// terminal shows: the progress and the next steps, no log lines, which go
// to the log file it names; and that the printed login works from the CLI
// and is an administrator.
func TestDemoTerminal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runDemo(ctx, []string{"--addr", "127.0.0.1:0"}, func(string) string { return "" }, &stdout, &stderr)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	open := regexp.MustCompile(`(?m)^  Open (http://[^ ]+)/ in your browser\.$`)
	var url string
	natstest.CheckFor(t, 3*time.Minute, func() error {
		select {
		case code := <-done:
			stopped = true
			t.Fatalf("the demo stopped: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		default:
		}
		m := open.FindStringSubmatch(stdout.String())
		if m == nil {
			return fmt.Errorf("no Open line yet:\n%s", stdout.String())
		}
		url = m[1]
		return nil
	})
	out := stdout.String()
	for _, want := range []string{
		"Sign in as " + demoEmail + ", password " + demoPassword,
		"administrator",
		"mediarec login --server " + url + " --email " + demoEmail,
		"mediarec recommend",
		"Ctrl+C",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the next steps lack %q:\n%s", want, out)
		}
	}
	if _, after, _ := strings.Cut(out, "failed"); strings.Count(after, "\n") > 13 {
		t.Errorf("more than 12 lines after the ingest summary:\n%s", out)
	}
	logs := regexp.MustCompile(`(?m)^  Logs: (.+)$`).FindStringSubmatch(out)
	if logs == nil || filepath.Base(logs[1]) != "mediarec.log" {
		t.Fatalf("the next steps name no log file:\n%s", out)
	}

	// The demo login, through the CLI.
	env := map[string]string{"XDG_CONFIG_HOME": t.TempDir()}
	if code, out, errOut := runCLI(t, env, demoPassword+"\n", "login", "--server", url, "--email", demoEmail); code != 0 {
		t.Fatalf("login: exit %d: %s %s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, env, "", "items", "--limit", "3"); code != 0 || !strings.HasPrefix(out, "ID") {
		t.Fatalf("items: exit %d: %s %s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, env, "", "like", "1"); code != 0 || out != "Liked item 1.\n" {
		t.Fatalf("like: exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, env, "", "rate", "99999999", "4"); code != 4 || errOut != "mediarec rate: item 99999999 not found\n" {
		t.Fatalf("rate an unknown item: exit %d: %q", code, errOut)
	}
	creds, err := loadCredentials(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ Role string }
	if err := getJSON(ctx, url+"/v1/me", creds.Token, &me); err != nil || me.Role != "admin" {
		t.Fatalf("GET /v1/me: role %q, %v", me.Role, err)
	}

	// The requests above are in the log file, and nowhere on the terminal.
	data, err := os.ReadFile(logs[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"msg":"request"`) || !strings.Contains(string(data), `"/v1/me"`) {
		t.Errorf("the log file has no access log of /v1/me:\n%.2000s", data)
	}
	for name, text := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, "\r "), "{") {
				t.Errorf("a log line on %s: %s", name, line)
			}
		}
	}

	cancel()
	stopped = true
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exit %d: %s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the demo did not stop")
	}
	if _, err := os.Stat(logs[1]); !os.IsNotExist(err) {
		t.Errorf("the temporary data dir outlived the demo: %v", err)
	}
}

func TestDemoLogLevelFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"none", []string{"--addr", "127.0.0.1:0"}, false},
		{"separate value", []string{"--log-level", "debug"}, true},
		{"one dash", []string{"-log-level=warn"}, true},
		{"joined value", []string{"--addr", ":0", "--log-level=info"}, true},
		{"after --", []string{"--", "--log-level=info"}, false},
		{"a value, not a flag", []string{"--data", "log-level"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasFlag(tt.args, "log-level"); got != tt.want {
				t.Errorf("hasFlag(%q) = %v", tt.args, got)
			}
		})
	}
}
