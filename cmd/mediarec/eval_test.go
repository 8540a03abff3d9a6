package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mediarec/internal/vectordb/qdranttest"
)

// mustWriteRatings100k writes a small data set in the ml-100k layout: 30
// movies in three genres, and 25 users who each rate 12 movies of mostly
// one genre.
func mustWriteRatings100k(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	genres := []struct {
		flag int
		word string
	}{{1, "Space"}, {5, "Funny"}, {11, "Haunted"}} // Action, Comedy, Horror
	var items, data strings.Builder
	for i := range 30 {
		g := genres[i%3]
		flags := make([]string, 19)
		for j := range flags {
			flags[j] = "0"
		}
		flags[g.flag] = "1"
		fmt.Fprintf(&items, "%d|%s Story %d (199%d)|01-Jan-1995||http://x|%s\n", i+1, g.word, i, i%10, strings.Join(flags, "|"))
	}
	for u := range 25 {
		for n := range 12 {
			item := (u%3 + 3*((u+n)%10)) + 1 // the user's genre
			if n%4 == 3 {
				item = (u+n)%30 + 1 // now and then another
			}
			fmt.Fprintf(&data, "%d\t%d\t%d\t%d\n", u+1, item, 2+(u+n)%4, 880000000+u*1000+n)
		}
	}
	for name, content := range map[string]string{"u.item": items.String(), "u.data": data.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestEvalJSON(t *testing.T) {
	dir := mustWriteRatings100k(t)
	html := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr bytes.Buffer
	args := []string{"eval", "--ratings", dir, "--k", "5", "--json", "--html", html}
	if code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	var got struct {
		K       int                           `json:"k"`
		Methods map[string]map[string]float64 `json:"methods"`
	}
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode %q: %v", stdout.String(), err)
	}
	if got.K != 5 {
		t.Errorf("k = %d, want 5", got.K)
	}
	wantMethods := []string{"random", "popularity", "itemknn", "ease", "content", "content_exact", "hybrid", "hybrid_exact",
		"hybrid_diversity_0.3", "hybrid_diversity_0.8"}
	wantKeys := []string{"coverage", "diversity", "ndcg_at_5", "novelty", "recall_at_5"}
	for _, m := range wantMethods {
		var keys []string
		for k := range got.Methods[m] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := wantKeys
		if m == "content" || m == "hybrid" { // served, beside their exact counterparts
			want = []string{"agreement_at_5", "coverage", "diversity", "ndcg_at_5", "novelty", "recall_at_5"}
		}
		if !slices.Equal(keys, want) {
			t.Errorf("%s: keys %v, want %v", m, keys, want)
		}
	}
	if len(got.Methods) != len(wantMethods) {
		t.Errorf("%d methods, want %d", len(got.Methods), len(wantMethods))
	}
	page, err := os.ReadFile(html)
	if err != nil || !bytes.Contains(page, []byte("<svg")) {
		t.Errorf("HTML report: %v, %d bytes without a chart", err, len(page))
	}
}

func TestEvalTable(t *testing.T) {
	dir := mustWriteRatings100k(t)
	var stdout, stderr bytes.Buffer
	args := []string{"eval", "--ratings", dir, "--html", ""}
	if code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"NDCG@10", "Recall@10", "popularity", "hybrid"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stderr.String(), "HTML report") {
		t.Errorf("--html \"\" wrote a report:\n%s", stderr.String())
	}
}

func TestEvalUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no ratings", []string{"eval"}, 2, "--ratings: required"},
		{"other split", []string{"eval", "--ratings", "x", "--split", "random"}, 2, `"random" is not available: only "temporal"`},
		{"bad k", []string{"eval", "--ratings", "x", "--k", "0"}, 2, "--k: must be at least 1"},
		{"unknown store", []string{"eval", "--ratings", "x", "--store", "faiss"}, 2, `--store: "faiss" is not available`},
		{"qdrant without its address", []string{"eval", "--ratings", "x", "--store", "qdrant"}, 2, "QDRANT_URL is not set"},
		{"missing directory", []string{"eval", "--ratings", "/nonexistent", "--html", ""}, 1, "no ratings.csv"},
		{"help", []string{"eval", "-h"}, 0, "Usage: mediarec eval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

// TestEvalStoreQdrant: the served rankings read the content vectors from
// Qdrant when asked (here the in-process stand-in); an unreachable Qdrant
// fails the run.
func TestEvalStoreQdrant(t *testing.T) {
	dir := mustWriteRatings100k(t)
	evalJSON := func(env map[string]string, args ...string) (int, map[string]map[string]float64, string) {
		var stdout, stderr bytes.Buffer
		args = append([]string{"eval", "--ratings", dir, "--json", "--html", ""}, args...)
		code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
		var got struct {
			Methods map[string]map[string]float64 `json:"methods"`
		}
		if code == 0 {
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("decode %q: %v", stdout.String(), err)
			}
		}
		return code, got.Methods, stderr.String()
	}
	_, local, _ := evalJSON(nil)
	code, remote, stderr := evalJSON(map[string]string{"QDRANT_URL": qdranttest.Start(t).URL()}, "--store", "qdrant")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	// The titles of this catalog differ by a number only, so many scores
	// tie, and ties break by id in one store and not in the other.
	if remote["content"]["agreement_at_10"] < 0.9 {
		t.Errorf("content through Qdrant: %v, want ≥ 0.9 agreement with the exact ranking", remote["content"])
	}
	// The hybrid index is the process's own either way.
	if remote["hybrid"]["ndcg_at_10"] != local["hybrid"]["ndcg_at_10"] {
		t.Errorf("hybrid through Qdrant: %v; in process: %v", remote["hybrid"], local["hybrid"])
	}
	if code, _, stderr := evalJSON(map[string]string{"QDRANT_URL": "http://127.0.0.1:1"}, "--store", "qdrant"); code != 1 || !strings.Contains(stderr, "content collection") {
		t.Errorf("unreachable Qdrant: exit %d, stderr %q; want 1 and the failing step", code, stderr)
	}
}
