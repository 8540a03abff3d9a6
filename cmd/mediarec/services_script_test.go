package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/postgres/pgtest"
)

// TestServicesScript runs scripts/services.sh as the README tells: it
// creates its databases, starts the five services, says "ready" once they
// all are, and stops them all on SIGTERM.
func TestServicesScript(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	pgtest.NewDatabase(t) // skips (or fails under CI) without PostgreSQL
	natsURL, ns := natstest.ExternalConfig(t)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	server := os.Getenv("TEST_POSTGRES_DSN")
	if server == "" {
		server = pgtest.DefaultDSN
	}
	var raw [4]byte
	_, _ = rand.Read(raw[:])
	prefix := "mediarec_script" + hex.EncodeToString(raw[:]) + "_"
	t.Cleanup(func() { dropDatabases(t, server, prefix) })

	addrs := map[string]string{}
	for _, name := range []string{"WEB_ADDR", "CATALOG_ADDR", "USERS_ADDR", "RECS_ADDR", "WORKER_ADDR"} {
		addrs[name] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	cmd := exec.Command("bash", "../../scripts/services.sh")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+server, "NATS_URL="+natsURL, "NATS_NAMESPACE="+ns,
		"MEDIAREC_DB_PREFIX="+prefix, "MEDIAREC_BIN="+bin, "MEDIAREC_DATA_DIR="+t.TempDir(), "MEDIAREC_ADMIN_TOKEN=script-token")
	for k, v := range addrs {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready") {
				close(ready)
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("services.sh exited before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("services.sh did not say ready within 2 minutes")
	}
	for name, addr := range addrs {
		if code, b := httpGet("http://"+addr+"/readyz", ""); code != http.StatusOK {
			t.Errorf("%s %s /readyz: %d %s", name, addr, code, b)
		}
	}
	if code, b := httpGet("http://"+addrs["WEB_ADDR"]+"/v1/items?limit=1", ""); code != http.StatusOK {
		t.Errorf("the catalog through web: %d %s", code, b)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("services.sh on SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("services.sh still running a minute after SIGTERM")
	}
	for name, addr := range addrs {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still listens on %s after services.sh stopped", name, addr)
		}
	}
}

// dropDatabases drops the databases whose names start with prefix.
func dropDatabases(tb testing.TB, server, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		tb.Errorf("drop the script's databases: %v", err)
		return
	}
	defer conn.Close(ctx)
	for _, svc := range []string{"catalog", "users", "recs"} {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{prefix + svc}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop %s%s: %v", prefix, svc, err)
		}
	}
}
