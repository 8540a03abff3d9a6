package datatest

import (
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	got, err := path(MovieLens)
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", MovieLens))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("path(%q) = %s, want %s", MovieLens, got, want)
	}
}
