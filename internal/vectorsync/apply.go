package vectorsync

import (
	"context"
	"maps"

	"mediarec"
	"mediarec/internal/natsbus"
)

// apply is the follower: it applies one message of the log to the local
// index. A message it cannot apply is logged and skipped; the log goes on.
func (s *Store) apply(ctx context.Context, f natsbus.Followed) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	subj, err := parseSubject(s.prefix, f.Subject)
	switch {
	case err != nil:
		s.logger.Warn("vector log: skipping a message", "seq", f.Seq, "error", err)
	case subj.kind == kindPoint:
		s.bufferPoint(ctx, subj, f)
	case subj.kind == kindMeta:
		s.flush(ctx)
		s.applyMeta(ctx, subj.name, f)
	case subj.kind == kindAlias:
		s.flush(ctx)
		s.applyAlias(ctx, subj.name, f.Data)
	}
	if s.batch.msgs >= applyBatch || f.Pending == 0 {
		s.flush(ctx)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = max(s.seen, f.Seq)
	if s.batch.msgs == 0 {
		s.applied = s.seen
	}
	s.broadcast()
}

func (s *Store) bufferPoint(ctx context.Context, subj logSubject, f natsbus.Followed) {
	if s.batch.coll != subj.name {
		s.flush(ctx)
		s.batch.coll = subj.name
	}
	var p *mediarec.VectorPoint
	if len(f.Data) > 0 {
		pt, err := decodePoint(subj.id, f.Data)
		if err != nil {
			s.logger.Warn("vector log: skipping a point", "collection", subj.name, "id", subj.id, "seq", f.Seq, "error", err)
			return
		}
		p = &pt
	}
	if _, ok := s.batch.ops[subj.id]; !ok {
		s.batch.order = append(s.batch.order, subj.id)
	}
	s.batch.ops[subj.id] = p
	s.batch.msgs++
}

// flush applies the batched points, then marks everything seen as
// applied. The caller holds applyMu.
func (s *Store) flush(ctx context.Context) {
	b := &s.batch
	if b.msgs == 0 {
		return
	}
	var dels []int64
	var ups []mediarec.VectorPoint
	for _, id := range b.order {
		if p := b.ops[id]; p == nil {
			dels = append(dels, id)
		} else {
			ups = append(ups, *p)
		}
	}
	coll := b.coll
	b.msgs, b.order = 0, b.order[:0]
	clear(b.ops)

	if s.deleted[coll] {
		s.logger.Warn("vector log: skipping points of a deleted collection", "collection", coll, "points", len(dels)+len(ups))
	} else {
		if len(dels) > 0 {
			if err := s.local.Delete(ctx, coll, dels); err != nil && mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
				s.logger.Warn("vector log: deleting points", "collection", coll, "error", err)
			}
		}
		if len(ups) > 0 {
			s.upsert(ctx, coll, ups)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied = s.seen
	s.broadcast()
}

func (s *Store) upsert(ctx context.Context, coll string, pts []mediarec.VectorPoint) {
	info, err := s.local.CollectionInfo(ctx, coll)
	switch {
	case mediarec.ErrorCode(err) == mediarec.ENOTFOUND:
		// The collection's meta comes later in the log: a process
		// re-published it, and the stream moved it behind its points.
		if err := s.local.CreateCollection(ctx, coll, len(pts[0].Vector)); err != nil {
			s.logger.Warn("vector log: creating a collection for its points", "collection", coll, "error", err)
			return
		}
	case err != nil:
		s.logger.Warn("vector log: upserting points", "collection", coll, "error", err)
		return
	case info.Name != coll: // an alias: points are published under their collection
		s.logger.Warn("vector log: skipping points of an alias", "alias", coll)
		return
	}
	err = s.local.Upsert(ctx, coll, pts)
	if mediarec.ErrorCode(err) != mediarec.EINVALID {
		if err != nil {
			s.logger.Warn("vector log: upserting points", "collection", coll, "error", err)
		}
		return
	}
	// One bad point refuses the batch; keep the others.
	for _, p := range pts {
		if err := s.local.Upsert(ctx, coll, []mediarec.VectorPoint{p}); err != nil {
			s.logger.Warn("vector log: skipping a point", "collection", coll, "id", p.ID, "error", err)
		}
	}
}

func (s *Store) applyMeta(ctx context.Context, coll string, f natsbus.Followed) {
	m, err := decodeMeta(f.Data)
	if err != nil {
		s.logger.Warn("vector log: skipping a collection", "collection", coll, "seq", f.Seq, "error", err)
		return
	}
	if m.Deleted {
		s.deleted[coll] = true
		s.deleteCollection(ctx, coll)
		return
	}
	delete(s.deleted, coll)
	info, err := s.local.CollectionInfo(ctx, coll)
	switch {
	case err == nil && info.Name == coll && info.Dimensions == m.Dimensions:
		// Created by its points already, or re-published: nothing new.
	case err == nil && info.Name == coll:
		// This follower missed the delete (the create replaced its meta
		// before it was read): the old collection goes first.
		s.deleteCollection(ctx, coll)
		fallthrough
	default:
		create := s.local.CreateCollection
		if m.Scan {
			create = s.local.CreateScanCollection
		}
		if err := create(ctx, coll, m.Dimensions); err != nil {
			s.logger.Warn("vector log: creating a collection", "collection", coll, "error", err)
			return
		}
	}
	for alias, target := range s.pendingAliases {
		if target == coll {
			s.applyAlias(ctx, alias, []byte(target))
		}
	}
}

func (s *Store) deleteCollection(ctx context.Context, coll string) {
	if err := s.local.DeleteCollection(ctx, coll); err != nil && mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		s.logger.Warn("vector log: deleting a collection", "collection", coll, "error", err)
	}
	// The index drops the aliases of a deleted collection.
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.DeleteFunc(s.aliases, func(_, target string) bool { return target == coll })
}

func (s *Store) applyAlias(ctx context.Context, alias string, data []byte) {
	if len(data) == 0 {
		// The collection it pointed at was deleted, which the index
		// learns from the collection's own meta.
		delete(s.pendingAliases, alias)
		return
	}
	target := string(data)
	err := s.local.SetAlias(ctx, alias, target)
	switch mediarec.ErrorCode(err) {
	case "":
		delete(s.pendingAliases, alias)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.aliases[alias] = target
	case mediarec.ENOTFOUND:
		s.pendingAliases[alias] = target
	default:
		s.logger.Warn("vector log: skipping an alias", "alias", alias, "collection", target, "error", err)
	}
}
