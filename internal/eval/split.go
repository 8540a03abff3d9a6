package eval

import (
	"cmp"
	"slices"
)

// Split rules.
const (
	// TestPercent is the share of each user's ratings, the latest ones,
	// held out as the test set, rounded up to at least one rating.
	TestPercent = 20
	// PositiveRating is the lowest held-out rating that counts as a hit.
	PositiveRating = 4.0
)

// UserSplit is one user's ratings split in time.
type UserSplit struct {
	User  int64
	Train []Rating // the earlier ratings, by time
	Test  []Rating // the latest TestPercent, by time
	// Positives are the items of the test ratings of at least
	// PositiveRating: the items a recommender should find.
	Positives []int
}

// TemporalSplit splits each user's ratings, sorted by time (ties by item),
// into the earlier ratings and the last TestPercent of them, rounded up,
// and returns the users in id order.
func TemporalSplit(ratings []Rating) []UserSplit {
	sorted := slices.Clone(ratings)
	slices.SortFunc(sorted, func(a, b Rating) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Time, b.Time), cmp.Compare(a.Item, b.Item))
	})
	var users []UserSplit
	for lo := 0; lo < len(sorted); {
		hi := lo + 1
		for hi < len(sorted) && sorted[hi].User == sorted[lo].User {
			hi++
		}
		rs := sorted[lo:hi:hi]
		nTest := (len(rs)*TestPercent + 99) / 100 // ≥ 1 as len(rs) ≥ 1
		u := UserSplit{User: rs[0].User, Train: rs[:len(rs)-nTest], Test: rs[len(rs)-nTest:]}
		for _, r := range u.Test {
			if r.Value >= PositiveRating && !slices.Contains(u.Positives, r.Item) {
				u.Positives = append(u.Positives, r.Item)
			}
		}
		users = append(users, u)
		lo = hi
	}
	return users
}
