package natsbus

import "testing"

func TestSubjectMatches(t *testing.T) {
	tests := []struct {
		filter, subject string
		want            bool
	}{
		{"vectors.v1.*.meta", "vectors.v1.items_x.meta", true},
		{"vectors.v1.*.meta", "vectors.v1.items_x.p.7", false},
		{"vectors.v1._alias.*", "vectors.v1._alias.items", true},
		{"user.feedback.v1.>", "user.feedback.v1.1.2", true},
		{"user.feedback.v1.>", "user.feedback.v1", false},
		{"user.feedback.v1.>", "user.preferences.v1.1", false},
		{"a.b", "a.b.c", false},
		{"a.*.c", "a.b", false},
	}
	for _, tt := range tests {
		if got := subjectMatches(tt.filter, tt.subject); got != tt.want {
			t.Errorf("subjectMatches(%q, %q) = %v, want %v", tt.filter, tt.subject, got, tt.want)
		}
	}
}
