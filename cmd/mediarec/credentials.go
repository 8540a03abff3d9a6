package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// credentials are what login keeps for the next commands: never the
// password, only the token it was exchanged for.
type credentials struct {
	Server    string    `json:"server"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Email     string    `json:"email"`
}

// credentialsPath is mediarec/credentials.json in the user config dir:
// $XDG_CONFIG_HOME as getenv reads it, else the platform's.
func credentialsPath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("find the config dir: %w", err)
		}
	}
	return filepath.Join(dir, "mediarec", "credentials.json"), nil
}

// loadCredentials reads the stored credentials; fs.ErrNotExist when there
// are none.
func loadCredentials(getenv func(string) string) (*credentials, error) {
	path, err := credentialsPath(getenv)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c credentials
	if err := json.Unmarshal(data, &c); err != nil || c.Token == "" {
		return nil, fmt.Errorf("%s is damaged: run mediarec login again", path)
	}
	return &c, nil
}

// saveCredentials writes c readable by its owner only. The file is
// replaced whole (a temporary file renamed over it), so a reader never
// sees half of it, and an existing file's mode is never widened.
func saveCredentials(getenv func(string) string, c *credentials) (err error) {
	path, err := credentialsPath(getenv)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// A token is as good as a password: narrow a dir others could read.
		if err := os.Chmod(dir, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("restrict %s: %w", dir, err)
		}
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".credentials-*.json") // created 0600
	if err != nil {
		return fmt.Errorf("write the credentials: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if fi, err := os.Stat(path); err == nil {
		if err := f.Chmod(fi.Mode().Perm() & 0o600); err != nil {
			return fmt.Errorf("write the credentials: %w", err)
		}
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write the credentials: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write the credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the credentials: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write the credentials: %w", err)
	}
	return nil
}

// removeCredentials forgets the stored token; false when there was none.
func removeCredentials(getenv func(string) string) (bool, error) {
	path, err := credentialsPath(getenv)
	if err != nil {
		return false, err
	}
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}
