package vectorsync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"mediarec"
	"mediarec/internal/natsbus"
)

// CreateCollection makes an empty cosine collection; ECONFLICT if the name
// is taken by a collection or an alias (here, or by another process at the
// same moment with other dimensions), EINVALID for a bad name or dimension.
func (s *Store) CreateCollection(ctx context.Context, name string, dim int) error {
	return s.createCollection(ctx, name, meta{Dimensions: dim})
}

// CreateScanCollection makes an empty cosine collection that every
// follower keeps without a graph (vectordb.Local.CreateScanCollection),
// with the errors of CreateCollection.
func (s *Store) CreateScanCollection(ctx context.Context, name string, dim int) error {
	return s.createCollection(ctx, name, meta{Dimensions: dim, Scan: true})
}

func (s *Store) createCollection(ctx context.Context, name string, m meta) error {
	dim := m.Dimensions
	if err := checkName("Collection", name, true); err != nil {
		return err
	}
	if dim < 1 || dim > maxDimensions {
		return mediarec.Errorf(mediarec.EINVALID, "Dimension must be between 1 and %d.", maxDimensions)
	}
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	switch info, err := s.local.CollectionInfo(ctx, name); {
	case err == nil && info.Name == name:
		return mediarec.Errorf(mediarec.ECONFLICT, "Collection %q already exists.", name)
	case err == nil:
		return mediarec.Errorf(mediarec.ECONFLICT, "%q is an alias.", name)
	case mediarec.ErrorCode(err) != mediarec.ENOTFOUND:
		return err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("create collection %s: %w", name, err)
	}
	if err := s.put(ctx, true, natsbus.LogEntry{Subject: metaSubject(s.prefix, name), Data: data}); err != nil {
		return err
	}
	// The log's order decides between processes creating one name at once.
	if info, err := s.local.CollectionInfo(ctx, name); err != nil || info.Name != name || info.Dimensions != dim {
		return mediarec.Errorf(mediarec.ECONFLICT, "Collection %q changed while it was being created.", name)
	}
	return nil
}

// DeleteCollection removes a collection, its points and the aliases that
// point at it, from the log and then from every follower; ENOTFOUND for an
// unknown name.
func (s *Store) DeleteCollection(ctx context.Context, name string) error {
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	if info, err := s.local.CollectionInfo(ctx, name); err != nil || info.Name != name {
		if err == nil || mediarec.ErrorCode(err) == mediarec.ENOTFOUND {
			return mediarec.Errorf(mediarec.ENOTFOUND, "Collection %q not found.", name)
		}
		return err
	}
	// Purge first, so that a follower starting later never reads the
	// points; the followers running learn it from the tombstones.
	if err := s.log.PurgeLog(ctx, collectionSubjects(s.prefix, name)); err != nil {
		return err
	}
	var entries []natsbus.LogEntry
	s.mu.Lock()
	for alias, target := range s.aliases {
		if target == name {
			entries = append(entries, natsbus.LogEntry{Subject: aliasSubject(s.prefix, alias)})
		}
	}
	s.mu.Unlock()
	data, err := json.Marshal(meta{Deleted: true})
	if err != nil {
		return fmt.Errorf("delete collection %s: %w", name, err)
	}
	entries = append(entries, natsbus.LogEntry{Subject: metaSubject(s.prefix, name), Data: data})
	return s.put(ctx, true, entries...)
}

// CollectionInfo describes a collection, named directly or through an
// alias; ENOTFOUND if neither exists. In MetaOnly mode Points is 0.
func (s *Store) CollectionInfo(ctx context.Context, name string) (mediarec.Collection, error) {
	if err := s.readable(); err != nil {
		return mediarec.Collection{}, err
	}
	return s.local.CollectionInfo(ctx, name)
}

// Upsert adds or replaces points; EINVALID on a wrong dimension or a zero
// or non-finite vector, ENOTFOUND for an unknown collection. In Full mode
// the points are searchable here when it returns; in MetaOnly mode they
// are on the log.
func (s *Store) Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error {
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	info, err := s.local.CollectionInfo(ctx, collection)
	if err != nil {
		return err
	}
	entries := make([]natsbus.LogEntry, len(points))
	for i, p := range points {
		if err := checkVector(p, info.Dimensions); err != nil {
			return err
		}
		data, err := encodePoint(p)
		if err != nil {
			return err
		}
		entries[i] = natsbus.LogEntry{Subject: pointSubject(s.prefix, info.Name, p.ID), Data: data}
	}
	if len(entries) == 0 {
		return nil
	}
	return s.put(ctx, s.mode == Full, entries...)
}

// Delete removes points; unknown ids are ignored. ENOTFOUND for an unknown
// collection.
func (s *Store) Delete(ctx context.Context, collection string, ids []int64) error {
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	info, err := s.local.CollectionInfo(ctx, collection)
	if err != nil {
		return err
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if s.mode == Full {
		// Only what is there: a tombstone stays in the log for ever.
		pts, err := s.local.Get(ctx, info.Name, ids)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, p := range pts {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	entries := make([]natsbus.LogEntry, len(ids))
	for i, id := range ids {
		entries[i] = natsbus.LogEntry{Subject: pointSubject(s.prefix, info.Name, id)}
	}
	return s.put(ctx, s.mode == Full, entries...)
}

// Search returns up to k hits by descending cosine similarity; EINVALID
// for a wrong dimension or a zero vector, ENOTFOUND for an unknown
// collection. In MetaOnly mode it finds nothing.
func (s *Store) Search(ctx context.Context, collection string, vector []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	return s.local.Search(ctx, collection, vector, k, f)
}

// Get returns the stored points of ids, skipping unknown ones; ENOTFOUND
// for an unknown collection. In MetaOnly mode it finds nothing.
func (s *Store) Get(ctx context.Context, collection string, ids []int64) ([]mediarec.VectorPoint, error) {
	if err := s.readable(); err != nil {
		return nil, err
	}
	return s.local.Get(ctx, collection, ids)
}

// SetAlias points alias at collection, replacing any previous target in
// one step; ENOTFOUND for an unknown collection, ECONFLICT if alias names
// a collection, EINVALID for a bad name.
func (s *Store) SetAlias(ctx context.Context, alias, collection string) error {
	if err := checkName("Alias", alias, false); err != nil {
		return err
	}
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	if info, err := s.local.CollectionInfo(ctx, collection); err != nil || info.Name != collection {
		if err == nil || mediarec.ErrorCode(err) == mediarec.ENOTFOUND {
			return mediarec.Errorf(mediarec.ENOTFOUND, "Collection %q not found.", collection)
		}
		return err
	}
	if info, err := s.local.CollectionInfo(ctx, alias); err == nil && info.Name == alias {
		return mediarec.Errorf(mediarec.ECONFLICT, "%q is a collection.", alias)
	}
	return s.put(ctx, true, natsbus.LogEntry{Subject: aliasSubject(s.prefix, alias), Data: []byte(collection)})
}

// ResolveAlias returns the collection an alias points at, or ENOTFOUND.
func (s *Store) ResolveAlias(ctx context.Context, alias string) (string, error) {
	if err := s.readable(); err != nil {
		return "", err
	}
	return s.local.ResolveAlias(ctx, alias)
}
