package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"mediarec"
	"mediarec/internal/auth"
	"mediarec/internal/eval"
	"mediarec/internal/users"
)

// benchReplay is the MovieLens users as the server knows them after the
// replay.
type benchReplay struct {
	tokens        []string // one per replayed user, in user id order
	ratings       int      // feedback written
	skipped       int      // ratings of movies the catalog does not hold
	heaviest      int      // ratings of the user with the most
	sentinelToken string   // see waitHybrid
}

// benchUser is one MovieLens user and the feedback to replay for them.
type benchUser struct {
	movieLensID int64
	feedback    []mediarec.Feedback // in the order the user rated
}

// replayMovieLens creates the first n MovieLens users (all when n is 0)
// and writes each one's whole rating history as feedback of kind rating
// with the rating's value, as the offline evaluation judges them
// (internal/eval), then the sentinel user's one rating (see waitHybrid).
//
// It goes through the users service of the server's process rather than
// HTTP: registering 610 accounts over HTTP would wait out the per-IP
// register limit for twenty minutes. The service is what the handlers
// call, so the feedback takes the path of a user's: the users' store and
// outbox, the user events on NATS, the recommendations' ledger.
func replayMovieLens(ctx context.Context, srv *benchServer, ds *eval.Dataset, n int) (*benchReplay, error) {
	plan, sentinel, skipped, err := planReplay(ctx, srv.m, ds, n)
	if err != nil {
		return nil, err
	}
	key, err := auth.LoadOrCreateKey(srv.keyPath)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	// The users service's own signer: the same key, issuer and lifetime.
	issuer := auth.NewIssuer(key, tokenIssuer, tokenTTL)
	r := &benchReplay{tokens: make([]string, len(plan)), skipped: skipped}
	err = forEachParallel(ctx, len(plan), cpus(), func(i int) error {
		tok, err := createBenchUser(ctx, srv.m.Users, issuer, plan[i])
		r.tokens[i] = tok
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, u := range plan {
		r.ratings += len(u.feedback)
		r.heaviest = max(r.heaviest, len(u.feedback))
	}
	// Written only now, after every replayed rating is stored, so that its
	// event is the last.
	if r.sentinelToken, err = createBenchUser(ctx, srv.m.Users, issuer, sentinel); err != nil {
		return nil, fmt.Errorf("sentinel user: %w", err)
	}
	return r, nil
}

// createBenchUser registers u, writes its feedback in order and returns a
// token of it.
func createBenchUser(ctx context.Context, svc *users.Service, issuer *auth.Issuer, u benchUser) (string, error) {
	acct, err := svc.Register(ctx, users.Registration{
		Email:       fmt.Sprintf("movielens-%d@bench.example.com", u.movieLensID),
		Password:    "bench-password",
		DisplayName: fmt.Sprintf("MovieLens user %d", u.movieLensID),
	})
	if err != nil {
		return "", fmt.Errorf("register MovieLens user %d: %w", u.movieLensID, err)
	}
	for _, f := range u.feedback {
		f.UserID = acct.ID
		if err := svc.SetFeedback(ctx, &f); err != nil {
			return "", fmt.Errorf("feedback of MovieLens user %d on item %d: %w", u.movieLensID, f.ItemID, err)
		}
	}
	tok, _, err := issuer.Issue(acct.ID, acct.Role)
	if err != nil {
		return "", fmt.Errorf("token of MovieLens user %d: %w", u.movieLensID, err)
	}
	return tok, nil
}

// sentinelMovieLensID is the sentinel's id in its email; MovieLens ids
// are positive.
const sentinelMovieLensID = 0

// planReplay returns the first n users (all when n is 0) with their
// ratings mapped to catalog items, the sentinel user, and how many ratings
// were dropped because the catalog does not hold their movie. The
// sentinel's item is one no replayed user rated.
func planReplay(ctx context.Context, m *Main, ds *eval.Dataset, n int) ([]benchUser, benchUser, int, error) {
	byUser := map[int64][]eval.Rating{}
	for _, r := range ds.Ratings {
		byUser[r.User] = append(byUser[r.User], r)
	}
	ids := slices.Sorted(maps.Keys(byUser))
	if n > 0 && n < len(ids) {
		ids = ids[:n]
	}
	rated := map[string]bool{}
	for _, id := range ids {
		for _, r := range byUser[id] {
			rated[ds.Items[r.Item].ExternalID] = true
		}
	}
	catalogIDs, sentinelItem, err := findBenchItems(ctx, m, rated)
	if err != nil {
		return nil, benchUser{}, 0, err
	}
	plan := make([]benchUser, 0, len(ids))
	skipped := 0
	for _, id := range ids {
		rs := byUser[id]
		slices.SortStableFunc(rs, func(a, b eval.Rating) int { return cmp.Compare(a.Time, b.Time) })
		u := benchUser{movieLensID: id}
		for _, r := range rs {
			item, ok := catalogIDs[ds.Items[r.Item].ExternalID]
			if !ok || item == sentinelItem {
				skipped++
				continue
			}
			u.feedback = append(u.feedback, mediarec.Feedback{ItemID: item, Kind: mediarec.FeedbackRating, Rating: r.Value})
		}
		plan = append(plan, u)
	}
	sentinel := benchUser{movieLensID: sentinelMovieLensID, feedback: []mediarec.Feedback{
		{ItemID: sentinelItem, Kind: mediarec.FeedbackRating, Rating: mediarec.MaxRating},
	}}
	return plan, sentinel, skipped, nil
}

// errScanDone ends a catalog scan early.
var errScanDone = errors.New("scan done")

// findBenchItems maps the rated external ids to catalog ids and picks the
// sentinel's item: the first, by id, that is not rated; when every item is
// rated, the last one, whose ratings the replay then drops. The scan stops
// as soon as it has both, which at a million items is early: the real
// items were loaded first.
func findBenchItems(ctx context.Context, m *Main, rated map[string]bool) (map[string]int64, int64, error) {
	ids := make(map[string]int64, len(rated))
	var sentinel, last int64
	err := m.Catalog.EachItem(ctx, func(it *mediarec.Item) error {
		last = it.ID
		if rated[it.ExternalID] {
			ids[it.ExternalID] = it.ID
		} else if sentinel == 0 {
			sentinel = it.ID
		}
		if sentinel != 0 && len(ids) == len(rated) {
			return errScanDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errScanDone) {
		return nil, 0, fmt.Errorf("map MovieLens movies to catalog items: %w", err)
	}
	if sentinel == 0 {
		sentinel = last
	}
	if sentinel == 0 {
		return nil, 0, errors.New("map MovieLens movies to catalog items: the catalog is empty")
	}
	return ids, sentinel, nil
}

// forEachParallel calls fn(i) for i in [0, n) from workers goroutines and
// returns the first error, after which no new call starts.
func forEachParallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
