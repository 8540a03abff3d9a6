package ratelimit

import (
	"slices"
	"testing"
	"time"
)

func TestStateEncoding(t *testing.T) {
	base := t0.UnixNano()
	tests := []struct {
		name string
		st   state
	}{
		{name: "empty", st: state{}},
		{name: "hold only", st: state{next: 9, hold: base}},
		{name: "entries", st: state{next: 12, hold: base + 5, entries: []entry{
			{start: base, tokens: 0, id: 3}, {start: base, tokens: 8191, id: 7}, {start: base + 1, tokens: maxTokens, id: 12},
		}}},
		{name: "before 1970", st: state{next: 1, entries: []entry{{start: -5, tokens: 1, id: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got state
			if err := got.decode(tt.st.encode()); err != nil {
				t.Fatal(err)
			}
			if got.next != tt.st.next || got.hold != tt.st.hold || !slices.Equal(got.entries, tt.st.entries) {
				t.Errorf("round trip: %+v, want %+v", got, tt.st)
			}
		})
	}
}

func TestStateDecodeCorrupt(t *testing.T) {
	valid := (&state{next: 2, entries: []entry{{start: 100, tokens: 5, id: 1}, {start: 200, tokens: 5, id: 2}}}).encode()
	backwards := (&state{next: 2, entries: []entry{{start: 200, tokens: 5, id: 1}, {start: 100, tokens: 5, id: 2}}}).encode()
	tests := []struct {
		name string
		data []byte
	}{
		{name: "version", data: append([]byte{2}, valid[1:]...)},
		{name: "truncated", data: valid[:len(valid)-1]},
		{name: "trailing", data: append(slices.Clone(valid), 0)},
		{name: "count beyond the data", data: []byte{1, 0, 0, 100, 0, 0, 0}},
		{name: "starts out of order", data: backwards},
		{name: "tokens out of range", data: (&state{entries: []entry{{tokens: maxTokens + 1}}}).encode()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st state
			if err := st.decode(tt.data); err == nil {
				t.Errorf("decode: %+v, want an error", st)
			}
		})
	}
}

// TestStateSize keeps a busy minute's log small enough for a NATS message.
func TestStateSize(t *testing.T) {
	st := state{next: 1 << 30}
	for i := range 3000 {
		st.entries = append(st.entries, entry{
			start: t0.Add(time.Duration(i) * 20 * time.Millisecond).UnixNano(), tokens: 500 + i%7500, id: 1<<30 - 3000 + uint64(i),
		})
	}
	if n := len(st.encode()); n > 30_000 {
		t.Errorf("3,000 entries take %d bytes", n)
	}
}
