// Package vectorsync is the vector store of a deployment whose processes
// share a message bus but no Qdrant: writes go to a log on the bus (one
// subject per point, collection and alias, the latest message of each
// kept), and every process follows the log into an in-process index, which
// its reads hit.
package vectorsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"mediarec"
	"mediarec/internal/natsbus"
)

// Log is the replicated log the store writes and follows (natsbus.Bus).
type Log interface {
	// PutLog stores entries in order and returns the stream sequence of
	// the last; EUNAVAILABLE when the bus does not take them.
	PutLog(ctx context.Context, entries []natsbus.LogEntry) (lastSeq uint64, err error)
	// PurgeLog removes the messages on subject, which may hold wildcards;
	// EUNAVAILABLE when the bus does not answer.
	PurgeLog(ctx context.Context, subject string) error
	// Follow hands fn every message of stream on subjects, oldest first,
	// until ctx ends, and calls caughtUp once fn has had everything the
	// stream held at the start.
	Follow(ctx context.Context, stream string, subjects []string, fn func(context.Context, natsbus.Followed), caughtUp func()) error
}

// Local is the in-process index the log is followed into: a
// vectordb.Local opened on a fresh directory, since the log, not the
// index, is what survives a restart. Its methods return the error codes of
// vectordbtest.Store.
type Local interface {
	CreateCollection(ctx context.Context, name string, dim int) error
	CreateScanCollection(ctx context.Context, name string, dim int) error
	DeleteCollection(ctx context.Context, name string) error
	CollectionInfo(ctx context.Context, name string) (mediarec.Collection, error)
	Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error
	Delete(ctx context.Context, collection string, ids []int64) error
	Search(ctx context.Context, collection string, vector []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error)
	Get(ctx context.Context, collection string, ids []int64) ([]mediarec.VectorPoint, error)
	SetAlias(ctx context.Context, alias, collection string) error
	ResolveAlias(ctx context.Context, alias string) (string, error)
}

// Mode says how much of the log a store follows.
type Mode int

const (
	// Full follows everything: a process that searches.
	Full Mode = iota
	// MetaOnly follows collections and aliases but no points: a process
	// that only writes points (an embed worker) and needs to know the
	// collections and their dimensions to check its writes. Its index
	// holds the collections empty, so Search and Get find nothing and
	// CollectionInfo counts no points; its point writes return once the
	// bus has them, without waiting to see them.
	MetaOnly
)

// applyBatch is how many point messages of one collection the follower
// gathers before inserting them: HNSW inserts are cheaper in batches.
const applyBatch = 512

// Store is a vector store on the log: writes are checked against the local
// index, published, and awaited until the local follower has applied them,
// so a process reads its own writes; other processes see them a moment
// later. Its methods return the codes of vectordbtest.Store, and
// EUNAVAILABLE when the bus is away or the log not yet followed.
type Store struct {
	log    Log
	local  Local
	mode   Mode
	logger *slog.Logger
	stream string
	prefix string

	// applyMu serialises applying the log: the follower, and a writer
	// that flushes the follower's batch to read its own write (see
	// waitApplied). It guards the fields up to mu.
	applyMu sync.Mutex
	batch   pointBatch
	// deleted holds the collections whose last meta said deleted: points
	// published after that (a writer racing the delete) are dropped
	// rather than bringing the collection back.
	deleted map[string]bool
	// pendingAliases holds the aliases whose target the log has not
	// created yet (its meta was re-published, so it comes later).
	pendingAliases map[string]string

	mu      sync.Mutex
	running bool
	ready   bool // caught up with the log once
	stopped bool // Run has returned
	seen    uint64
	applied uint64            // every message up to applied is in local
	aliases map[string]string // alias → collection, as applied
	changed chan struct{}     // closed when the fields above change, if someone waits
}

// pointBatch gathers consecutive point messages of one collection, the
// latest per id (nil: deleted), in the order the ids came.
type pointBatch struct {
	coll  string
	msgs  int
	ops   map[int64]*mediarec.VectorPoint
	order []int64
}

// New returns a store writing to log and reading local, which must be
// empty. Nothing is readable, and writes wait, until Run has caught up.
func New(log Log, local Local, mode Mode, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{
		log: log, local: local, mode: mode, logger: logger,
		stream: natsbus.StreamVectors, prefix: natsbus.SubjectVectors,
		batch:          pointBatch{ops: map[int64]*mediarec.VectorPoint{}},
		deleted:        map[string]bool{},
		pendingAliases: map[string]string{},
		aliases:        map[string]string{},
	}
}

// Run follows the log into the local index until ctx ends. It runs once
// per store; when it has returned, writes fail with EUNAVAILABLE and reads
// answer from what was followed.
func (s *Store) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running || s.stopped {
		s.mu.Unlock()
		return errors.New("vectorsync: Run called twice")
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stopped = true
		s.broadcast()
		s.mu.Unlock()
	}()

	subjects := []string{s.prefix + ".>"}
	if s.mode == MetaOnly {
		subjects = []string{s.prefix + ".*." + metaToken, s.prefix + "." + aliasToken + ".*"}
	}
	err := s.log.Follow(ctx, s.stream, subjects, s.apply, s.caughtUp)
	if err != nil {
		return fmt.Errorf("follow the vector log: %w", err)
	}
	return nil
}

// Ready returns nil once Run has caught up with the log, and EUNAVAILABLE
// before or after Run: a readiness check.
func (s *Store) Ready(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errStopped()
	}
	if !s.ready {
		return errLoading()
	}
	return nil
}

func (s *Store) caughtUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = true
	s.broadcast()
	s.logger.Info("vector log followed", "seq", s.applied)
}

// readable is the check of every read: a replica answers only with the
// whole log applied.
func (s *Store) readable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready {
		return errLoading()
	}
	return nil
}

// waitReady holds a write until the store is caught up, since its checks
// read the local index.
func (s *Store) waitReady(ctx context.Context) error {
	for {
		s.mu.Lock()
		ready, stopped, ch := s.ready, s.stopped, s.changedLocked()
		s.mu.Unlock()
		switch {
		case stopped:
			return errStopped()
		case ready:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return errLoading()
		}
	}
}

// put publishes entries and, if wait, returns once the follower has
// applied them.
func (s *Store) put(ctx context.Context, wait bool, entries ...natsbus.LogEntry) error {
	seq, err := s.log.PutLog(ctx, entries)
	if err != nil {
		return err
	}
	if !wait {
		return nil
	}
	return s.waitApplied(ctx, seq)
}

// waitApplied returns once the follower has applied the log up to seq. A
// message the follower holds in a batch (it expected more of the same
// collection) is flushed here rather than awaited: the rest may never
// come, if a purge took it.
func (s *Store) waitApplied(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		applied, seen, stopped := s.applied, s.seen, s.stopped
		var ch chan struct{}
		if applied < seq && seen < seq && !stopped {
			ch = s.changedLocked()
		}
		s.mu.Unlock()
		switch {
		case applied >= seq:
			return nil
		case seen >= seq:
			s.applyMu.Lock()
			s.flush(ctx)
			s.applyMu.Unlock()
			continue
		case stopped:
			return errStopped()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return mediarec.Errorf(mediarec.EUNAVAILABLE, "The vectors were written but are not applied yet.")
		}
	}
}

// changedLocked returns a channel closed at the next change; the caller
// holds mu. It is made only when someone waits, so that the follower
// signals nobody for free.
func (s *Store) changedLocked() chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// broadcast wakes the waiters; the caller holds mu.
func (s *Store) broadcast() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

func errLoading() error {
	return mediarec.Errorf(mediarec.EUNAVAILABLE, "The vectors are still loading.")
}

func errStopped() error {
	return mediarec.Errorf(mediarec.EUNAVAILABLE, "The vector log is no longer followed.")
}
