package recs

import "time"

// SetClock replaces the recommender's clock, for the tests of what ages.
func (r *Recommender) SetClock(now func() time.Time) { r.now = now }
