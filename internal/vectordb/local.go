// Package vectordb holds the vector store adapters: the in-process HNSW
// index (Local, the embedded default) and the Qdrant adapter.
package vectordb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"mediarec"
)

// localMaxDim bounds a collection's dimension (OpenAI's largest model has
// 3,072).
const localMaxDim = 65536

// Local is the in-process vector store: named cosine collections, each an
// HNSW graph, and aliases, persisted under one directory (see
// localpersist.go). It is safe for concurrent use: searches run in parallel
// with each other and, for most of an upsert's duration, with writes.
type Local struct {
	dir string

	mu      sync.RWMutex
	closed  bool
	colls   map[string]*localCollection
	aliases map[string]string // alias → collection
}

// OpenLocal opens the store in dir, creating it if needed, and loads every
// collection: its snapshot, then the log written since.
func OpenLocal(dir string) (*Local, error) {
	root := filepath.Join(dir, "collections")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("open vector store: %w", err)
	}
	l := &Local{dir: dir, colls: map[string]*localCollection{}, aliases: map[string]string{}}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("open vector store: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") { // an interrupted create or delete
			os.RemoveAll(filepath.Join(root, name))
			continue
		}
		c, err := localOpenCollection(filepath.Join(root, name), name)
		if err != nil {
			l.closeAll()
			return nil, err
		}
		l.colls[name] = c
	}
	data, err := os.ReadFile(l.aliasPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		l.closeAll()
		return nil, fmt.Errorf("read aliases: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(data, &l.aliases); err != nil {
			l.closeAll()
			return nil, fmt.Errorf("read aliases: %w", err)
		}
	}
	if l.aliases == nil { // the file said null
		l.aliases = map[string]string{}
	}
	// An alias outlives its collection only if a delete was interrupted.
	maps.DeleteFunc(l.aliases, func(_, target string) bool { return l.colls[target] == nil })
	return l, nil
}

// Close writes a snapshot of every collection with unsaved log records, so
// the next open replays nothing, and releases the files. Later calls fail
// with EUNAVAILABLE.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.closeAll()
}

func (l *Local) closeAll() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(l.colls)) {
		errs = append(errs, l.colls[name].close())
	}
	return errors.Join(errs...)
}

func (c *localCollection) close() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.gone != nil {
		return nil
	}
	c.gone = localErrClosed()
	if c.wal.size > 0 {
		if err := c.compact(true); err != nil {
			c.wal.f.Close()
			return err
		}
		return nil
	}
	return c.wal.f.Close()
}

// CreateCollection makes an empty cosine collection; ECONFLICT if the name
// is taken by a collection or an alias, EINVALID for a bad name or dimension.
func (l *Local) CreateCollection(ctx context.Context, name string, dim int) error {
	return l.createCollection(name, dim, localKind{})
}

// CreateDotCollection makes an empty collection that ranks by the inner
// product and keeps vectors as given (Qdrant's Dot distance), with the
// errors of CreateCollection. Its graph links items by inner product too
// (ip-NSW, Morozov & Babenko 2018): for a maximum-inner-product search
// this keeps recall where a cosine graph over vectors made equally long by
// an extra dimension loses it (see BENCHMARKS.md, "Served hybrid").
func (l *Local) CreateDotCollection(ctx context.Context, name string, dim int) error {
	return l.createCollection(name, dim, localKind{dot: true})
}

// CreateScanCollection makes an empty cosine collection that keeps no
// graph, with the errors of CreateCollection: a search scans every point
// exactly, and an insert costs only the copy of its vector. It is for a
// generation written in bulk and replaced soon after, the hashing model's
// before the first fit: at a million items, linking its points into a
// graph took longer than embedding them and was thrown away minutes later.
func (l *Local) CreateScanCollection(ctx context.Context, name string, dim int) error {
	return l.createCollection(name, dim, localKind{scan: true})
}

func (l *Local) createCollection(name string, dim int, kind localKind) error {
	if err := localCheckName(name); err != nil {
		return err
	}
	if dim < 1 || dim > localMaxDim {
		return mediarec.Errorf(mediarec.EINVALID, "Dimension must be between 1 and %d.", localMaxDim)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return localErrClosed()
	}
	if _, ok := l.colls[name]; ok {
		return mediarec.Errorf(mediarec.ECONFLICT, "Collection %q already exists.", name)
	}
	if _, ok := l.aliases[name]; ok {
		return mediarec.Errorf(mediarec.ECONFLICT, "%q is an alias.", name)
	}
	c, err := localCreateCollection(filepath.Join(l.dir, "collections"), name, dim, kind)
	if err != nil {
		return err
	}
	l.colls[name] = c
	return nil
}

// DeleteCollection removes a collection, its files and the aliases that
// point at it; ENOTFOUND for an unknown name.
func (l *Local) DeleteCollection(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return localErrClosed()
	}
	c, ok := l.colls[name]
	if !ok {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Collection %q not found.", name)
	}
	aliases := maps.Clone(l.aliases)
	maps.DeleteFunc(aliases, func(_, target string) bool { return target == name })
	if len(aliases) != len(l.aliases) {
		if err := l.saveAliases(aliases); err != nil {
			return err
		}
		l.aliases = aliases
	}

	// Rename first so that a crash never leaves half a collection under
	// its name; OpenLocal removes what a crash leaves in the trash.
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	root := filepath.Join(l.dir, "collections")
	trash, err := os.MkdirTemp(root, ".trash-")
	if err == nil {
		if err = os.Rename(c.dir, filepath.Join(trash, name)); err != nil {
			os.Remove(trash)
		}
	}
	if err != nil {
		return fmt.Errorf("delete collection %s: %w", name, err)
	}
	// The collection is gone now, whatever else fails.
	if c.gone == nil {
		c.wal.f.Close()
	}
	c.gone = mediarec.Errorf(mediarec.ENOTFOUND, "Collection %q not found.", name)
	delete(l.colls, name)
	err = localSyncDir(root)
	os.RemoveAll(trash) // if this fails, the next OpenLocal retries
	if err != nil {
		return fmt.Errorf("delete collection %s: %w", name, err)
	}
	return nil
}

// CollectionInfo describes a collection, named directly or through an alias;
// ENOTFOUND if neither exists.
func (l *Local) CollectionInfo(ctx context.Context, name string) (mediarec.Collection, error) {
	c, err := l.collection(name)
	if err != nil {
		return mediarec.Collection{}, err
	}
	return c.info(), nil
}

// Upsert adds or replaces points; EINVALID on a wrong dimension or a zero or
// non-finite vector, ENOTFOUND for an unknown collection. Vectors are stored
// L2-normalised. The points are in the log before Upsert returns.
func (l *Local) Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error {
	c, err := l.collection(collection)
	if err != nil {
		return err
	}
	pts, err := localPrepare(points, c.dim, c.dot)
	if err != nil || len(pts) == 0 {
		return err
	}
	body := localEncodeUpsert(pts)
	if len(body) > localMaxBody {
		return mediarec.Errorf(mediarec.EINVALID, "Too many points in one upsert; split the batch.")
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.gone != nil {
		return c.gone
	}
	if !c.roomForTypes(pts) {
		return mediarec.Errorf(mediarec.EINVALID, "A collection holds at most 256 distinct payload types.")
	}
	if err := c.wal.append(body); err != nil {
		return fmt.Errorf("upsert into %s: %w", c.name, err)
	}
	c.applyUpsert(pts)
	c.recalibrate()
	return c.maybeCompact()
}

// Delete removes points; unknown ids are ignored. ENOTFOUND for an unknown
// collection.
func (l *Local) Delete(ctx context.Context, collection string, ids []int64) error {
	c, err := l.collection(collection)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.gone != nil {
		return c.gone
	}
	// Only the writer changes byID, so it may read it without c.mu.
	known := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { _, ok := c.byID[id]; return !ok })
	if len(known) == 0 {
		return nil
	}
	if err := c.wal.append(localEncodeDelete(known)); err != nil {
		return fmt.Errorf("delete from %s: %w", c.name, err)
	}
	c.applyDelete(known)
	return c.maybeCompact()
}

// Search returns up to k hits by descending cosine similarity; EINVALID for
// a wrong dimension, a zero vector or a negative k, ENOTFOUND for an unknown
// collection. The hits' genres and tags are the collection's own: read
// them, never write to them (copying them for every hit of every search
// was a tenth of the allocations of a recommendation).
func (l *Local) Search(ctx context.Context, collection string, vector []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error) {
	c, err := l.collection(collection)
	if err != nil {
		return nil, err
	}
	if k < 0 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "The number of results must not be negative.")
	}
	q, verr := localVector(vector, c.dim, c.dot)
	if verr != nil {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Query %s.", verr.Message)
	}
	return c.search(q, k, f), nil
}

// Get returns the stored points of ids, skipping unknown ones; ENOTFOUND for
// an unknown collection. Each vector is a copy; genres and tags are shared,
// as in Search.
func (l *Local) Get(ctx context.Context, collection string, ids []int64) ([]mediarec.VectorPoint, error) {
	c, err := l.collection(collection)
	if err != nil {
		return nil, err
	}
	return c.get(ids), nil
}

// SetAlias points alias at collection, replacing any previous target in one
// step: a search through the alias sees the old or the new collection, never
// neither. ENOTFOUND for an unknown collection, ECONFLICT if alias names a
// collection.
func (l *Local) SetAlias(ctx context.Context, alias, collection string) error {
	if err := localCheckName(alias); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return localErrClosed()
	}
	if _, ok := l.colls[collection]; !ok {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Collection %q not found.", collection)
	}
	if _, ok := l.colls[alias]; ok {
		return mediarec.Errorf(mediarec.ECONFLICT, "%q is a collection.", alias)
	}
	aliases := maps.Clone(l.aliases)
	aliases[alias] = collection
	if err := l.saveAliases(aliases); err != nil {
		return err
	}
	l.aliases = aliases
	return nil
}

// ResolveAlias returns the collection an alias points at, or ENOTFOUND.
func (l *Local) ResolveAlias(ctx context.Context, alias string) (string, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return "", localErrClosed()
	}
	target, ok := l.aliases[alias]
	if !ok {
		return "", mediarec.Errorf(mediarec.ENOTFOUND, "Alias %q not found.", alias)
	}
	return target, nil
}

// collection resolves a collection name or alias.
func (l *Local) collection(name string) (*localCollection, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, localErrClosed()
	}
	c, ok := l.colls[name]
	if !ok {
		c, ok = l.colls[l.aliases[name]]
	}
	if !ok {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Collection %q not found.", name)
	}
	return c, nil
}

func (l *Local) aliasPath() string { return filepath.Join(l.dir, "aliases.json") }

// saveAliases replaces the alias file atomically; the caller holds l.mu.
func (l *Local) saveAliases(aliases map[string]string) error {
	data, err := json.Marshal(aliases)
	if err != nil {
		return fmt.Errorf("save aliases: %w", err)
	}
	if _, err := localWriteFileAtomic(l.aliasPath(), func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("save aliases: %w", err)
	}
	return nil
}

// localCheckName accepts names that are safe as directory names.
func localCheckName(name string) error {
	ok := name != "" && len(name) <= 128 && name[0] != '.' && !strings.ContainsFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-' || r == '.')
	})
	if !ok {
		return mediarec.Errorf(mediarec.EINVALID, "Name %q must be 1 to 128 letters, digits, '_', '-' or '.', not starting with '.'.", name)
	}
	return nil
}

func localErrClosed() error {
	return mediarec.Errorf(mediarec.EUNAVAILABLE, "The vector store is closed.")
}
