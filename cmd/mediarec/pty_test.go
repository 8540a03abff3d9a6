//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mustOpenPTY opens a pseudo-terminal: the master, as a person at the
// keyboard and screen, and its slave, as a program's stdin.
func mustOpenPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	// grantpt has nothing to do on devpts; unlockpt and ptsname are ioctls.
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("ptsname: %v", err)
	}
	// Non-blocking, so that reads of the master take a deadline.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// echoing says whether the terminal of f echoes what is typed.
func echoing(t *testing.T, f *os.File) bool {
	t.Helper()
	tios, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tios.Lflag&unix.ECHO != 0
}

// TestLoginNoEcho types an email and a password at a terminal, as a
// person does, and checks that the password shows nowhere: not echoed on
// the terminal, not printed, not stored.
func TestLoginNoEcho(t *testing.T) {
	srv, _ := newFakeAPI(t)
	config := t.TempDir()
	master, slave := mustOpenPTY(t)
	// A second handle on the terminal, to watch its mode without sharing
	// the one login reads.
	watch, err := os.OpenFile(slave.Name(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()

	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		env := map[string]string{"XDG_CONFIG_HOME": config}
		done <- runStdin(context.Background(), []string{"login", "--server", srv.URL}, func(k string) string { return env[k] }, slave, &stdout, &stderr)
	}()
	if _, err := master.WriteString(fakeEmail + "\n"); err != nil {
		t.Fatal(err)
	}
	// Type the password only once the terminal stopped echoing, as a
	// person does after the prompt.
	deadline := time.Now().Add(10 * time.Second)
	for echoing(t, watch) {
		if time.Now().After(deadline) {
			t.Fatal("the terminal still echoes: login did not ask for a password")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := master.WriteString(fakePassword + "\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("login: exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("login did not return")
	}
	if !echoing(t, watch) {
		t.Error("login left the terminal without echo")
	}

	// What the screen showed.
	var screen bytes.Buffer
	buf := make([]byte, 4096)
	master.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		n, err := master.Read(buf)
		screen.Write(buf[:n])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(screen.String(), fakeEmail) {
		t.Errorf("the screen did not echo the email, so the check below proves nothing: %q", screen.String())
	}
	creds, err := os.ReadFile(filepath.Join(config, "mediarec", "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	for where, text := range map[string]string{"the screen": screen.String(), "stdout": stdout.String(), "stderr": stderr.String(), "the credentials": string(creds)} {
		if strings.Contains(text, fakePassword) || strings.Contains(text, "horse") {
			t.Errorf("the password shows on %s: %q", where, text)
		}
	}
	if !strings.Contains(stderr.String(), "Password: ") || !strings.HasPrefix(stdout.String(), "Signed in as "+fakeEmail) {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
