package vectordb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"

	"mediarec"
)

// qdrantDefaultPort is Qdrant's gRPC port; 6333 is its REST port, which the
// Go client cannot speak.
const qdrantDefaultPort = 6334

const (
	// qdrantBatchFloats bounds the vector floats of one Upsert request to
	// 2 MiB of them, leaving room for payloads under the 4 MiB a gRPC server
	// accepts unless configured otherwise, so that a bulk load of large
	// embeddings is split rather than refused.
	qdrantBatchFloats = 1 << 19
	// qdrantGetBatch bounds the ids of one Get request, so that its answer
	// (vectors included) stays under qdrantMaxRecv.
	qdrantGetBatch = 256
	// qdrantMaxRecv raises grpc-go's 4 MiB default receive limit, which a
	// Get of 256 3072-d vectors would already exceed.
	qdrantMaxRecv = 64 << 20
)

// QdrantConfig configures NewQdrant.
type QdrantConfig struct {
	// URL is Qdrant's gRPC endpoint (port 6334, not the REST port 6333):
	// http://host:6334, https://host:6334 for TLS, or host:port. Empty means
	// localhost:6334.
	URL string
	// APIKey is sent with every request when set.
	APIKey string
	// CollectionPrefix is prepended to every collection and alias name, so
	// that several deployments, or test runs, can share one Qdrant without
	// seeing each other's collections.
	CollectionPrefix string
	// DialOptions are appended to the client's own gRPC options and win over
	// them: tests use them to dial an in-process server.
	DialOptions []grpc.DialOption
}

// Qdrant is the vector store on a Qdrant server, reached through the
// official Go client over gRPC. Every collection has one unnamed dense vector
// compared by cosine similarity, and a keyword index on the payload's type.
// Collection arguments of the point methods may name an alias.
type Qdrant struct {
	client *qdrant.Client
	prefix string

	mu sync.Mutex
	// dims caches the dimension of each collection or alias (by full name),
	// so that a wrong vector length is refused before it crosses the network.
	// An entry is only a hint: a mismatch is checked again with the server,
	// since the alias may have been switched to a collection of another
	// dimension by another process.
	dims map[string]int
}

// NewQdrant returns a store on the Qdrant server of cfg. It connects lazily:
// call Ping to check that the server answers.
func NewQdrant(cfg QdrantConfig) (*Qdrant, error) {
	host, port, useTLS, err := qdrantEndpoint(cfg.URL)
	if err != nil {
		return nil, err
	}
	opts := append([]grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(qdrantMaxRecv))}, cfg.DialOptions...)
	client, err := qdrant.NewClient(&qdrant.Config{
		Host:   host,
		Port:   port,
		APIKey: cfg.APIKey,
		UseTLS: useTLS,
		// The version check would call the server from the constructor and
		// only log when that fails; readiness probes call Ping instead.
		SkipCompatibilityCheck: true,
		GrpcOptions:            opts,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to qdrant at %s:%d: %w", host, port, err)
	}
	return &Qdrant{client: client, prefix: cfg.CollectionPrefix, dims: make(map[string]int)}, nil
}

// qdrantEndpoint splits a QdrantConfig.URL into what qdrant.Config takes.
func qdrantEndpoint(raw string) (host string, port int, useTLS bool, err error) {
	if raw == "" {
		return "localhost", qdrantDefaultPort, false, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, false, fmt.Errorf("qdrant url: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", 0, false, fmt.Errorf("qdrant url %q: scheme must be http or https", u.Redacted())
	case u.Hostname() == "":
		return "", 0, false, fmt.Errorf("qdrant url %q: no host", u.Redacted())
	case strings.Trim(u.Path, "/") != "":
		return "", 0, false, fmt.Errorf("qdrant url %q: gRPC takes no path", u.Redacted())
	}
	port = qdrantDefaultPort
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", 0, false, fmt.Errorf("qdrant url %q: bad port", u.Redacted())
		}
	}
	return u.Hostname(), port, u.Scheme == "https", nil
}

// Close closes the connections to the server.
func (q *Qdrant) Close() error {
	if err := q.client.Close(); err != nil {
		return fmt.Errorf("close qdrant client: %w", err)
	}
	return nil
}

// Ping checks that the server answers and accepts the API key; EUNAVAILABLE
// when it cannot be reached.
func (q *Qdrant) Ping(ctx context.Context) error {
	if _, err := q.client.HealthCheck(ctx); err != nil {
		return qdrantError(err, "ping qdrant", "")
	}
	// Qdrant answers HealthCheck without checking the API key. Listing the
	// aliases is the cheapest call that does, so a wrong key fails readiness
	// instead of every request.
	if _, err := q.client.ListAliases(ctx); err != nil {
		return qdrantError(err, "ping qdrant", "")
	}
	return nil
}

// CreateCollection makes an empty cosine collection of dim dimensions with a
// keyword index on the payload's type; ECONFLICT if the name is taken by a
// collection or an alias.
func (q *Qdrant) CreateCollection(ctx context.Context, name string, dim int) error {
	return q.createCollection(ctx, name, dim, nil)
}

// CreateScanCollection makes a collection as CreateCollection does, but
// without a graph (m = 0 turns Qdrant's HNSW index off): searches scan, and
// Qdrant's optimiser spends nothing on a generation written in bulk and
// replaced soon after.
func (q *Qdrant) CreateScanCollection(ctx context.Context, name string, dim int) error {
	return q.createCollection(ctx, name, dim, &qdrant.HnswConfigDiff{M: qdrant.PtrOf(uint64(0))})
}

func (q *Qdrant) createCollection(ctx context.Context, name string, dim int, hnsw *qdrant.HnswConfigDiff) error {
	if err := qdrantCheckName(name); err != nil {
		return err
	}
	if dim <= 0 {
		return mediarec.Errorf(mediarec.EINVALID, "A vector collection needs a positive dimension, not %d.", dim)
	}
	full := q.prefix + name
	err := q.client.CreateCollection(ctx, &qdrant.CreateCollection{
		CollectionName: full,
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(dim), Distance: qdrant.Distance_Cosine}),
		HnswConfig:     hnsw,
	})
	if err != nil {
		return qdrantError(err, "create collection", name)
	}
	// Without a payload index Qdrant checks the type filter point by point;
	// with one its planner can also scan a small filtered subset exactly.
	_, err = q.client.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{
		CollectionName: full,
		Wait:           qdrant.PtrOf(true),
		FieldName:      "type",
		FieldType:      qdrant.FieldType_FieldTypeKeyword.Enum(),
	})
	if err != nil {
		// Drop the collection so that a retry creates it whole instead of
		// failing with ECONFLICT.
		_, dropErr := q.client.GetCollectionsClient().Delete(context.WithoutCancel(ctx), &qdrant.DeleteCollection{CollectionName: full})
		return errors.Join(qdrantError(err, "index payload type of", name), dropErr)
	}
	q.setDim(full, dim)
	return nil
}

// DeleteCollection drops a collection and the aliases that point at it;
// ENOTFOUND for an unknown name (an alias is not a collection).
func (q *Qdrant) DeleteCollection(ctx context.Context, name string) error {
	full := q.prefix + name
	// The client's DeleteCollection turns Qdrant's answer for an unknown
	// name, false rather than NotFound, into an untyped error; the
	// generated client keeps it distinguishable.
	res, err := q.client.GetCollectionsClient().Delete(ctx, &qdrant.DeleteCollection{CollectionName: full})
	q.forgetDim(full)
	if err != nil {
		return qdrantError(err, "delete collection", name)
	}
	if !res.GetResult() {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Vector collection %q not found.", name)
	}
	return nil
}

// ListCollections returns the names of the collections under the prefix,
// without it, sorted. Aliases are not listed.
func (q *Qdrant) ListCollections(ctx context.Context) ([]string, error) {
	all, err := q.client.ListCollections(ctx)
	if err != nil {
		return nil, qdrantError(err, "list collections", "")
	}
	names := []string{}
	for _, n := range all {
		if rest, ok := strings.CutPrefix(n, q.prefix); ok {
			names = append(names, rest)
		}
	}
	slices.Sort(names)
	return names, nil
}

// CollectionInfo describes a collection; Name is the name asked for, even
// when it is an alias. ENOTFOUND for an unknown name or alias.
func (q *Qdrant) CollectionInfo(ctx context.Context, name string) (mediarec.Collection, error) {
	full := q.prefix + name
	dim, err := q.dimension(ctx, full, name, true)
	if err != nil {
		return mediarec.Collection{}, err
	}
	// Collection info reports an approximate point count; counting exactly
	// is cheap at our sizes and is what callers compare against.
	n, err := q.client.Count(ctx, &qdrant.CountPoints{CollectionName: full, Exact: qdrant.PtrOf(true)})
	if err != nil {
		return mediarec.Collection{}, qdrantError(err, "count points of", name)
	}
	return mediarec.Collection{Name: name, Dimensions: dim, Points: int(n)}, nil
}

// Upsert adds or replaces points and returns once they are searchable;
// EINVALID on a wrong dimension or a negative id, ENOTFOUND for an unknown
// collection. A large batch is sent in several requests, each applied whole.
func (q *Qdrant) Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error {
	if len(points) == 0 {
		return nil
	}
	full := q.prefix + collection
	dim := len(points[0].Vector)
	structs := make([]*qdrant.PointStruct, len(points))
	for i, p := range points {
		switch {
		case p.ID < 0:
			return mediarec.Errorf(mediarec.EINVALID, "Point id %d is negative.", p.ID)
		case len(p.Vector) != dim:
			return mediarec.Errorf(mediarec.EINVALID, "Point %d has %d dimensions, point %d has %d.", p.ID, len(p.Vector), points[0].ID, dim)
		}
		payload, err := qdrantPayload(p.Payload)
		if err != nil {
			return fmt.Errorf("point %d: %w", p.ID, err)
		}
		structs[i] = &qdrant.PointStruct{Id: qdrant.NewIDNum(uint64(p.ID)), Vectors: qdrant.NewVectorsDense(p.Vector), Payload: payload}
	}
	if err := q.checkDim(ctx, full, collection, dim); err != nil {
		return err
	}
	batch := max(1, qdrantBatchFloats/max(dim, 1))
	for chunk := range slices.Chunk(structs, batch) {
		// Wait, so that a search right after Upsert sees the points and an
		// embed job is acknowledged only once its vectors are stored.
		_, err := q.client.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: full, Wait: qdrant.PtrOf(true), Points: chunk})
		if err != nil {
			q.forgetDim(full)
			return qdrantError(err, "upsert into", collection)
		}
	}
	return nil
}

// Delete removes points and returns once they are gone from searches;
// unknown and negative ids are ignored.
func (q *Qdrant) Delete(ctx context.Context, collection string, ids []int64) error {
	pids := qdrantIDs(ids)
	if len(pids) == 0 {
		return nil
	}
	_, err := q.client.Delete(ctx, &qdrant.DeletePoints{
		CollectionName: q.prefix + collection,
		Wait:           qdrant.PtrOf(true),
		Points:         qdrant.NewPointsSelectorIDs(pids),
	})
	if err != nil {
		return qdrantError(err, "delete points from", collection)
	}
	return nil
}

// Search returns up to k hits by descending cosine similarity, with their
// payloads; EINVALID on a wrong dimension, ENOTFOUND for an unknown
// collection.
func (q *Qdrant) Search(ctx context.Context, collection string, vector []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error) {
	if k <= 0 {
		return []mediarec.VectorHit{}, nil
	}
	full := q.prefix + collection
	if err := q.checkDim(ctx, full, collection, len(vector)); err != nil {
		return nil, err
	}
	scored, err := q.client.Query(ctx, &qdrant.QueryPoints{
		CollectionName: full,
		Query:          qdrant.NewQueryDense(vector),
		Filter:         qdrantFilter(f),
		Limit:          qdrant.PtrOf(uint64(k)),
		WithPayload:    qdrant.NewWithPayload(true),
	})
	if err != nil {
		q.forgetDim(full)
		return nil, qdrantError(err, "search", collection)
	}
	hits := make([]mediarec.VectorHit, 0, len(scored))
	for _, s := range scored {
		id, err := qdrantID(s.GetId())
		if err != nil {
			return nil, fmt.Errorf("search %q: %w", collection, err)
		}
		hits = append(hits, mediarec.VectorHit{ID: id, Score: s.GetScore(), Payload: qdrantFromPayload(s.GetPayload())})
	}
	return hits, nil
}

// Get returns the stored points of ids in the order asked, skipping unknown
// ones. Vectors come back normalised: Qdrant stores cosine vectors so.
func (q *Qdrant) Get(ctx context.Context, collection string, ids []int64) ([]mediarec.VectorPoint, error) {
	pids := qdrantIDs(ids)
	found := make(map[int64]mediarec.VectorPoint, len(pids))
	for chunk := range slices.Chunk(pids, qdrantGetBatch) {
		got, err := q.client.Get(ctx, &qdrant.GetPoints{
			CollectionName: q.prefix + collection,
			Ids:            chunk,
			WithPayload:    qdrant.NewWithPayload(true),
			WithVectors:    qdrant.NewWithVectors(true),
		})
		if err != nil {
			return nil, qdrantError(err, "get points from", collection)
		}
		for _, rp := range got {
			id, err := qdrantID(rp.GetId())
			if err != nil {
				return nil, fmt.Errorf("get points from %q: %w", collection, err)
			}
			found[id] = mediarec.VectorPoint{
				ID:      id,
				Vector:  rp.GetVectors().GetVector().GetDenseVector().GetData(),
				Payload: qdrantFromPayload(rp.GetPayload()),
			}
		}
	}
	out := make([]mediarec.VectorPoint, 0, len(found))
	for _, id := range ids {
		if p, ok := found[id]; ok {
			out = append(out, p)
			delete(found, id) // once, even if asked twice
		}
	}
	return out, nil
}

// SetAlias points alias at collection in one request, so that no search
// sees the alias missing or half switched; ENOTFOUND for an unknown
// collection, ECONFLICT when alias names a collection.
func (q *Qdrant) SetAlias(ctx context.Context, alias, collection string) error {
	if err := qdrantCheckName(alias); err != nil {
		return err
	}
	fullAlias, fullColl := q.prefix+alias, q.prefix+collection
	// Qdrant applies alias actions in order and keeps those done before a
	// failing one: switching to a missing collection would delete the alias
	// and leave searches with nothing. Check the target first; only a
	// concurrent drop of it can still get through.
	names, err := q.client.ListCollections(ctx)
	if err != nil {
		return qdrantError(err, "set alias", alias)
	}
	if !slices.Contains(names, fullColl) {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Vector collection %q not found.", collection)
	}
	err = q.client.UpdateAliases(ctx, []*qdrant.AliasOperations{
		qdrant.NewAliasDelete(fullAlias),
		qdrant.NewAliasCreate(fullAlias, fullColl),
	})
	q.forgetDim(fullAlias)
	if err != nil {
		return qdrantError(err, "set alias", alias)
	}
	return nil
}

// ResolveAlias returns the collection an alias points at, or ENOTFOUND.
func (q *Qdrant) ResolveAlias(ctx context.Context, alias string) (string, error) {
	aliases, err := q.client.ListAliases(ctx)
	if err != nil {
		return "", qdrantError(err, "resolve alias", alias)
	}
	for _, a := range aliases {
		if a.GetAliasName() == q.prefix+alias {
			return strings.TrimPrefix(a.GetCollectionName(), q.prefix), nil
		}
	}
	return "", mediarec.Errorf(mediarec.ENOTFOUND, "Vector alias %q not found.", alias)
}

// checkDim refuses a vector of got dimensions for the collection or alias
// full, asking the server again before refusing on a cached dimension.
func (q *Qdrant) checkDim(ctx context.Context, full, name string, got int) error {
	dim, err := q.dimension(ctx, full, name, false)
	if err == nil && dim != got {
		dim, err = q.dimension(ctx, full, name, true)
	}
	if err != nil {
		return err
	}
	if dim != got {
		return mediarec.Errorf(mediarec.EINVALID, "Vector has %d dimensions; collection %q has %d.", got, name, dim)
	}
	return nil
}

// dimension returns the vector size of the collection or alias full, from
// the cache unless refresh is set.
func (q *Qdrant) dimension(ctx context.Context, full, name string, refresh bool) (int, error) {
	if !refresh {
		q.mu.Lock()
		dim, ok := q.dims[full]
		q.mu.Unlock()
		if ok {
			return dim, nil
		}
	}
	info, err := q.client.GetCollectionInfo(ctx, full)
	if err != nil {
		q.forgetDim(full)
		return 0, qdrantError(err, "read collection", name)
	}
	size := info.GetConfig().GetParams().GetVectorsConfig().GetParams().GetSize()
	if size == 0 || size > math.MaxInt32 {
		return 0, fmt.Errorf("read collection %q: it has no single unnamed vector, so it was not made by mediarec", name)
	}
	q.setDim(full, int(size))
	return int(size), nil
}

func (q *Qdrant) setDim(full string, dim int) {
	q.mu.Lock()
	q.dims[full] = dim
	q.mu.Unlock()
}

func (q *Qdrant) forgetDim(full string) {
	q.mu.Lock()
	delete(q.dims, full)
	q.mu.Unlock()
}
