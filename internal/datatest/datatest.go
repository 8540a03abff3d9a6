// Package datatest finds the public data sets that tests read. They live in
// ../shared/data beside the module root, not in the repository, so a test
// that needs one skips on a fresh clone. CI has them: there a missing data
// set is a broken setup, not a reason to pass, and the test fails.
package datatest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// MovieLens, Goodbooks, TMDB and Podcasts name the data sets of
// ../shared/data by folder (see its README.md).
const (
	MovieLens = "movielens-ml-latest-small"
	Goodbooks = "goodbooks-10k"
	TMDB      = "tmdb-5000-movies"
	Podcasts  = "apple-podcasts-2019"
)

// Dir returns the directory of the named data set, ../shared/data/name
// seen from the module root. When it is absent the test is skipped with a
// message naming the data set, unless CI=true, when it fails.
func Dir(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := path(name)
	if err == nil {
		_, err = os.Stat(dir)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("data set %s not found: %v", name, err)
		}
		tb.Skipf("data set %s not found, skipping (set CI=true to fail): %v", name, err)
	}
	return dir
}

// path returns where the data set belongs. The module root is the nearest
// directory with a go.mod above the working directory, which go test sets
// to the package's own, so the answer does not depend on the package depth.
func path(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data", name), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
