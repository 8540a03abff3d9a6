package ratelimit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// state is the log of the last Period's requests, oldest first, and the
// hold every Window obeys. Times are Unix nanoseconds.
type state struct {
	next    uint64 // the id of the latest entry recorded
	hold    int64  // start nothing before; 0 for none
	entries []entry
}

type entry struct {
	start  int64
	tokens int
	id     uint64
}

// expire drops the entries that no window holding now can contain, and a
// hold that is over.
func (s *state) expire(now, period int64) {
	k := 0
	for k < len(s.entries) && s.entries[k].start <= now-period {
		k++
	}
	s.entries = s.entries[k:]
	if s.hold <= now {
		s.hold = 0
	}
}

// mustExpire returns how many of the oldest entries must expire before a
// request of tokens fits under lim: 0 when it fits now, all of them for one
// that fits only alone.
func (s *state) mustExpire(tokens int, lim limits) int {
	sum := 0
	for _, e := range s.entries {
		sum += e.tokens
	}
	n := len(s.entries)
	for k := range n {
		if n-k <= lim.requests-1 && tokens <= lim.tokens-sum {
			return k
		}
		sum -= s.entries[k].tokens
	}
	return n
}

// The encoding, version 1: the version byte, then uvarint next, varint
// hold, uvarint count, and for each entry the varint differences of start
// and id from the previous entry's (from 0 for the first) and the uvarint
// tokens. A minute's log of 3,000 requests takes about 25 kB, well under
// NATS's 1 MB message.
const encodingVersion = 1

func (s *state) encode() []byte {
	b := make([]byte, 0, 24+10*len(s.entries))
	b = append(b, encodingVersion)
	b = binary.AppendUvarint(b, s.next)
	b = binary.AppendVarint(b, s.hold)
	b = binary.AppendUvarint(b, uint64(len(s.entries)))
	var start int64
	var id uint64
	for _, e := range s.entries {
		b = binary.AppendVarint(b, e.start-start)
		b = binary.AppendVarint(b, int64(e.id-id))
		b = binary.AppendUvarint(b, uint64(e.tokens))
		start, id = e.start, e.id
	}
	return b
}

var errCorrupt = errors.New("corrupt rate limit state")

// decode reads data, as encode wrote it; no data is the empty state.
func (s *state) decode(data []byte) error {
	*s = state{}
	if len(data) == 0 {
		return nil
	}
	if data[0] != encodingVersion {
		return fmt.Errorf("decode the rate limit state: unknown version %d", data[0])
	}
	r := reader{data: data[1:]}
	s.next = r.uvarint()
	s.hold = r.varint()
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.data)) { // an entry takes 3 bytes at least
		return fmt.Errorf("decode the rate limit state: %w", errCorrupt)
	}
	s.entries = make([]entry, n)
	var start int64
	var id uint64
	for i := range s.entries {
		ds, di, tokens := r.varint(), r.varint(), r.uvarint()
		if (i > 0 && ds < 0) || tokens > maxTokens {
			r.err = errCorrupt
		}
		start, id = start+ds, id+uint64(di)
		s.entries[i] = entry{start: start, tokens: int(tokens), id: id}
	}
	if r.err == nil && len(r.data) > 0 {
		r.err = errCorrupt
	}
	if r.err != nil {
		return fmt.Errorf("decode the rate limit state: %w", r.err)
	}
	return nil
}

type reader struct {
	data []byte
	err  error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.data)
	if n <= 0 {
		r.err, r.data = errCorrupt, nil
		return 0
	}
	r.data = r.data[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.data)
	if n <= 0 {
		r.err, r.data = errCorrupt, nil
		return 0
	}
	r.data = r.data[n:]
	return v
}

// MemoryStore is a Store for the Windows of one process.
type MemoryStore struct {
	mu    sync.Mutex
	state []byte
	rev   uint64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Get returns a copy of the state and its revision; (nil, 0, nil) before
// the first Put.
func (m *MemoryStore) Get(context.Context) ([]byte, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rev == 0 {
		return nil, 0, nil
	}
	return append([]byte(nil), m.state...), m.rev, nil
}

// Put stores a copy of state if the revision is still rev; ErrConflict
// otherwise.
func (m *MemoryStore) Put(_ context.Context, state []byte, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rev != m.rev {
		return ErrConflict
	}
	m.state, m.rev = append([]byte(nil), state...), m.rev+1
	return nil
}
