package eval

import (
	"context"
	"slices"
	"testing"

	"mediarec"
)

// ratingsOf returns n ratings of user u, item i at time 100+i, rating 5.
func ratingsOf(u int64, n int) []Rating {
	var rs []Rating
	for i := range n {
		rs = append(rs, Rating{User: u, Item: i, Value: 5, Time: int64(100 + i)})
	}
	return rs
}

func items(rs []Rating) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Item)
	}
	return out
}

func TestTemporalSplitRoundsUp(t *testing.T) {
	tests := []struct {
		ratings, test int
	}{
		{1, 1}, {4, 1}, {5, 1}, {6, 2}, {10, 2}, {11, 3}, {15, 3}, {16, 4}, {100, 20}, {101, 21},
	}
	for _, tt := range tests {
		users := TemporalSplit(ratingsOf(1, tt.ratings))
		if len(users) != 1 {
			t.Fatalf("%d users, want 1", len(users))
		}
		u := users[0]
		if len(u.Test) != tt.test || len(u.Train) != tt.ratings-tt.test {
			t.Errorf("%d ratings: %d train, %d test; want %d test", tt.ratings, len(u.Train), len(u.Test), tt.test)
		}
	}
}

func TestTemporalSplit(t *testing.T) {
	ratings := []Rating{
		// User 7: out of time order; items 3 and 1 tie at the last time.
		{User: 7, Item: 3, Value: 4, Time: 50},
		{User: 7, Item: 5, Value: 2, Time: 10},
		{User: 7, Item: 1, Value: 3.5, Time: 50},
		{User: 7, Item: 2, Value: 5, Time: 20},
		{User: 7, Item: 4, Value: 1, Time: 30},
		{User: 7, Item: 6, Value: 5, Time: 40},
		// User 2: one rating, held out, not a positive.
		{User: 2, Item: 1, Value: 3.5, Time: 5},
	}
	users := TemporalSplit(ratings)
	if got := []int64{users[0].User, users[1].User}; !slices.Equal(got, []int64{2, 7}) {
		t.Fatalf("users %v, want [2 7]", got)
	}
	u2, u7 := users[0], users[1]
	if len(u2.Train) != 0 || len(u2.Test) != 1 || len(u2.Positives) != 0 {
		t.Errorf("user 2: train %v, test %v, positives %v", u2.Train, u2.Test, u2.Positives)
	}
	// 6 ratings: 2 held out, the two at time 50, item 1 before item 3.
	if got, want := items(u7.Train), []int{5, 2, 4, 6}; !slices.Equal(got, want) {
		t.Errorf("user 7 train items %v, want %v", got, want)
	}
	if got, want := items(u7.Test), []int{1, 3}; !slices.Equal(got, want) {
		t.Errorf("user 7 test items %v, want %v", got, want)
	}
	// 3.5 stars is not a positive, 4 is.
	if !slices.Equal(u7.Positives, []int{3}) {
		t.Errorf("user 7 positives %v, want [3]", u7.Positives)
	}
}

// TestRunSkipsUsersWithoutPositives checks that only users with a test
// positive are evaluated, and that everyone's train ratings still count.
func TestRunSkipsUsersWithoutPositives(t *testing.T) {
	ds := &Dataset{}
	for i := range 6 {
		ds.Items = append(ds.Items, &mediarec.Item{ID: int64(i + 1), Title: "item"})
	}
	// User 1 likes item 5 last; user 2's last rating is a 2.
	for i, v := range []float64{5, 5, 5, 5, 5} {
		ds.Ratings = append(ds.Ratings, Rating{User: 1, Item: i, Value: v, Time: int64(i)})
	}
	for i, v := range []float64{5, 5, 5, 5, 2} {
		ds.Ratings = append(ds.Ratings, Rating{User: 2, Item: i + 1, Value: v, Time: int64(i)})
	}
	rep, err := Run(context.Background(), ds, Options{Methods: []string{"popularity"}, K: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Items: 6, Ratings: 10, Users: 2, Evaluated: 1, Train: 8, Positives: 1}
	if rep.Data != want {
		t.Errorf("summary %+v, want %+v", rep.Data, want)
	}
	// User 1's train is items 0–3; popularity over both users' train
	// ratings ranks items 1–3 (twice) above 4 (once, by user 2) above 5.
	m := rep.Results[0].Metrics
	if !near(m.Recall, 1) || !near(m.NDCG, 1) {
		t.Errorf("popularity: recall %v, NDCG %v, want 1 and 1 (item 4 ranked first)", m.Recall, m.NDCG)
	}
}
