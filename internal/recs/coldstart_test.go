package recs_test

import (
	"cmp"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mediarec"
	"mediarec/internal/datatest"
	"mediarec/internal/recs"
	"mediarec/internal/sqlite"
)

// newColdStart returns a recommender over the demo catalog whose starters
// come from a SQLite read model holding that catalog, as in the all-in-one
// server; the ledger is both the users' tastes and the project's likes.
func newColdStart(t *testing.T) (*recs.Recommender, *demoWorld, *recs.Ledger) {
	t.Helper()
	w, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "recs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlite.NewRecsItemStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]recs.ItemEvent, 0, len(w.items))
	for id, it := range w.items {
		evs = append(evs, recs.ItemEvent{Seq: uint64(id), Event: mediarec.CatalogItemEvent{ItemID: id, Item: it}})
	}
	if err := store.ApplyItemEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	ledger := recs.NewLedger()
	r := recs.NewRecommender(recs.New(w, w.vectors, w, w.keywords), ledger, ledger, nil, nil, store.FindPopularItems, recs.Metrics{})
	return r, w, ledger
}

// TestColdStartFromSourcePopularity is the demo's first impression: a user
// who told nothing and asks for films and books gets both, five of each,
// and every one is among the 100 most rated of its type in the source data
// (MovieLens ratings.csv, goodbooks ratings_count), counted here from the
// data sets themselves rather than from the catalog's field.
func TestColdStartFromSourcePopularity(t *testing.T) {
	movieCounts := movieLensRatingCounts(t)
	bookCounts := goodbooksRatingCounts(t)
	r, w, _ := newColdStart(t)

	got, err := r.Recommend(context.Background(), recs.RecommendQuery{
		UserID: 1, Types: []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook}, Limit: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The source's count of every demo item of a type, to rank against.
	counts := map[mediarec.ItemType][]int64{}
	for _, it := range w.items {
		if it.Type == mediarec.TypeMovie {
			counts[it.Type] = append(counts[it.Type], movieCounts[it.ExternalID])
		}
	}
	for _, n := range bookCounts { // every book of goodbooks-10k, not only the demo's
		counts[mediarec.TypeBook] = append(counts[mediarec.TypeBook], n)
	}
	const topN = 100
	perType := map[mediarec.ItemType]int{}
	for _, rec := range got {
		it := rec.Item
		perType[it.Type]++
		source := map[mediarec.ItemType]map[string]int64{mediarec.TypeMovie: movieCounts, mediarec.TypeBook: bookCounts}[it.Type]
		n, ok := source[it.ExternalID]
		if !ok {
			t.Errorf("%s %q (%s) is not in the source data", it.Type, it.Title, it.ExternalID)
			continue
		}
		rank := 1
		for _, m := range counts[it.Type] {
			if m > n {
				rank++
			}
		}
		if rank > topN {
			t.Errorf("%s %q has %d ratings, rank %d of its type; want the top %d", it.Type, it.Title, n, rank, topN)
		}
		if rec.Reason.Kind != recs.ReasonPopular || !strings.HasPrefix(rec.Reason.Text, "Among the most rated") {
			t.Errorf("%q: reason %+v, want a popular one that names the ratings", it.Title, rec.Reason)
		}
	}
	if perType[mediarec.TypeMovie] != 5 || perType[mediarec.TypeBook] != 5 {
		t.Errorf("got %v, want 5 movies and 5 books: %v", perType, titles(got))
	}
	t.Logf("cold start: %v", titles(got))
}

// TestColdStartBlendsProjectLikes: likes of the project's users lift a
// little-rated item into the cold start, a lone like does not, and the item
// then says whom it is popular with.
func TestColdStartBlendsProjectLikes(t *testing.T) {
	r, w, ledger := newColdStart(t)
	ctx := context.Background()
	books := []mediarec.ItemType{mediarec.TypeBook}
	first, err := r.Recommend(ctx, recs.RecommendQuery{UserID: 1, Types: books, Limit: 10})
	if err != nil || len(first) != 10 {
		t.Fatalf("cold start: %v, %v", titles(first), err)
	}
	// The demo's least rated books.
	var rare []*mediarec.Item
	for _, it := range w.items {
		if it.Type == mediarec.TypeBook {
			rare = append(rare, it)
		}
	}
	slices.SortFunc(rare, func(a, b *mediarec.Item) int {
		return cmp.Or(cmp.Compare(a.Popularity, b.Popularity), cmp.Compare(a.ID, b.ID))
	})
	liked, lone := rare[0], rare[1]
	for user := int64(2); user < 2+30; user++ {
		ledger.Observe(mediarec.UserFeedbackEvent{UserID: user, ItemID: liked.ID, Kind: mediarec.FeedbackLike})
	}
	ledger.Observe(mediarec.UserFeedbackEvent{UserID: 40, ItemID: lone.ID, Kind: mediarec.FeedbackLike})

	got, err := r.Recommend(ctx, recs.RecommendQuery{UserID: 1, Types: books, Limit: 10})
	if err != nil || len(got) != 10 {
		t.Fatalf("after likes: %v, %v", titles(got), err)
	}
	var sawLiked bool
	for _, rec := range got {
		switch rec.Item.ID {
		case liked.ID:
			sawLiked = true
			if rec.Reason.Text != "Popular with other users" {
				t.Errorf("liked book's reason %+v, want the users' likes", rec.Reason)
			}
		case lone.ID:
			t.Errorf("one like lifted %q (%d ratings) into the first ten", lone.Title, lone.Popularity)
		}
	}
	if !sawLiked {
		t.Errorf("30 likes did not lift %q (%d ratings): %v", liked.Title, liked.Popularity, titles(got))
	}
}

// movieLensRatingCounts counts ratings.csv rows per external id.
func movieLensRatingCounts(t *testing.T) map[string]int64 {
	t.Helper()
	rows := readCSV(t, filepath.Join(datatest.Dir(t, datatest.MovieLens), "ratings.csv"))
	col := slices.Index(rows[0], "movieId")
	counts := map[string]int64{}
	for _, row := range rows[1:] {
		counts["movielens:"+row[col]]++
	}
	return counts
}

// goodbooksRatingCounts reads ratings_count per external id.
func goodbooksRatingCounts(t *testing.T) map[string]int64 {
	t.Helper()
	rows := readCSV(t, filepath.Join(datatest.Dir(t, datatest.Goodbooks), "books.csv"))
	idCol, countCol := slices.Index(rows[0], "goodreads_book_id"), slices.Index(rows[0], "ratings_count")
	counts := map[string]int64{}
	for _, row := range rows[1:] {
		n, err := strconv.ParseInt(row[countCol], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		counts["goodreads:"+row[idCol]] = n
	}
	return counts
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
