package recs

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"mediarec"
)

// answers keeps recent recommendation answers, so that a user who comes
// back to the same list gets it without the graph walks. An answer is
// reused only while what the user did still holds: the profile version
// (the live generation, the feedback, the tags and the day) and the
// question itself. What the version does not cover waits at most
// AnswerTTL: new items in the catalog, other users' likes, and the
// collaborative model, refitted (MEDIAREC_HYBRID_REFIT) while feedback
// arrives (were each refit to drop every answer, a busy service would
// keep none longer than that). The items themselves are read again on
// every answer, so that an edit shows at once and a deleted item makes
// the answer be computed afresh.
type answers struct {
	lru *lru.Cache[answerKey, *answer]
}

// AnswerTTL is how long an answer is kept at most: how long a new catalog
// item can stay out of a returning user's list.
const AnswerTTL = 2 * time.Minute

// answerKey is the question: whose, which types (as resolved from the
// preferences when none are asked), how many and how varied.
type answerKey struct {
	user      int64
	types     string
	limit     int
	diversity float64
}

// answer is what a computed answer needs to be given again: the picks and
// their reasons, without the items.
type answer struct {
	version string // profileVersion
	path    string
	at      time.Time
	picks   []pick
}

type pick struct {
	id     int64
	score  float32
	reason Reason // Text is worded again for a liked item, whose title may change
}

// newAnswers returns a cache of up to size answers, or nil when size is 0.
func newAnswers(size int) *answers {
	if size <= 0 {
		return nil
	}
	c, err := lru.New[answerKey, *answer](size)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &answers{lru: c}
}

func keyOf(limit int, diversity float64, user int64, types []mediarec.ItemType) answerKey {
	var b []byte
	for _, t := range types {
		b = append(append(b, t...), ',')
	}
	return answerKey{user: user, types: string(b), limit: limit, diversity: diversity}
}

// get returns the answer to k if it was computed from version less than
// AnswerTTL before now.
func (a *answers) get(k answerKey, version string, now time.Time) (*answer, bool) {
	if a == nil {
		return nil, false
	}
	ans, ok := a.lru.Get(k)
	if !ok || ans.version != version || now.Sub(ans.at) >= AnswerTTL {
		return nil, false
	}
	return ans, true
}

func (a *answers) put(k answerKey, version, path string, recs []Recommendation, now time.Time) {
	if a == nil {
		return
	}
	ans := &answer{version: version, path: path, at: now, picks: make([]pick, len(recs))}
	for i, r := range recs {
		ans.picks[i] = pick{id: r.Item.ID, score: r.Score, reason: r.Reason}
	}
	a.lru.Add(k, ans)
}

// fromCache gives a kept answer again with the items as they are now. It
// returns false when an item it names has left the catalog.
func (r *Recommender) fromCache(ctx context.Context, ans *answer) ([]Recommendation, bool, error) {
	ids := make([]int64, 0, 2*len(ans.picks))
	for _, p := range ans.picks {
		ids = append(ids, p.id)
		if p.reason.Kind == ReasonLikedItem {
			ids = append(ids, p.reason.ItemID)
		}
	}
	items, err := r.itemsByID(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	for _, id := range ids {
		if _, ok := items[id]; !ok {
			return nil, false, nil
		}
	}
	out := make([]Recommendation, len(ans.picks))
	for i, p := range ans.picks {
		why := p.reason
		if why.Kind == ReasonLikedItem {
			why = worded(why, items)
		}
		out[i] = Recommendation{Item: items[p.id], Score: p.score, Reason: why}
	}
	return out, true, nil
}
