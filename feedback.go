package mediarec

import "time"

// FeedbackKind is how a user judged an item.
type FeedbackKind string

// The kinds of feedback.
const (
	FeedbackLike    FeedbackKind = "like"
	FeedbackDislike FeedbackKind = "dislike"
	FeedbackRating  FeedbackKind = "rating"
)

// Rating bounds: ratings run from MinRating to MaxRating in steps of
// RatingStep (half stars).
const (
	MinRating  = 0.5
	MaxRating  = 5.0
	RatingStep = 0.5
)

// Feedback is one user's judgement of one item. A user has at most one per
// item: a new judgement replaces the old. Rating is set only for
// FeedbackRating. CreatedAt is when the judgement last changed.
type Feedback struct {
	UserID    int64        `json:"user_id"`
	ItemID    int64        `json:"item_id" validate:"required,gt=0"`
	Kind      FeedbackKind `json:"kind" validate:"required,oneof=like dislike rating"`
	Rating    float64      `json:"rating"`
	CreatedAt time.Time    `json:"created_at"`
}

// ValidRating reports whether r is a rating a user may give: between
// MinRating and MaxRating, on a half step.
func ValidRating(r float64) bool {
	steps := r / RatingStep
	return r >= MinRating && r <= MaxRating && steps == float64(int(steps))
}
