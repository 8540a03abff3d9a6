package vectordb

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"mediarec"
)

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

// QdrantConfig configures NewQdrant. Zero values are Qdrant's defaults or,
// where a field says so, the adapter's.
type QdrantConfig struct {
	// URL is Qdrant's gRPC endpoint (port 6334, not the REST port 6333):
	// http://host:6334, https://host:6334 for TLS, or host:port; or several,
	// comma-separated, the nodes of a cluster, balanced and failed over.
	// Empty means localhost:6334.
	URL string
	// APIKey is sent with every request when set.
	APIKey string
	// CollectionPrefix is prepended to every collection and alias name, so
	// that several deployments, or test runs, can share one Qdrant without
	// seeing each other's collections.
	CollectionPrefix string
	// CAFile is a PEM bundle of the authorities that sign the servers'
	// certificates (https URLs); empty trusts the system's.
	CAFile string
	// TLSMinVersion is tls.VersionTLS12 or tls.VersionTLS13 (0 = 1.3).
	TLSMinVersion uint16

	// ShardNumber is the shards of a new collection (0 = one per node).
	ShardNumber uint32
	// ReplicationFactor is the copies of each shard on distinct nodes
	// (0 = 1). With 2, a cluster serves every point with one node down.
	ReplicationFactor uint32
	// WriteConsistencyFactor is the replicas that must apply a write before
	// it is acknowledged (0 = 1).
	WriteConsistencyFactor uint32
	// WriteOrdering is "weak", "medium" or "strong" (empty = medium): embed
	// workers, re-embedding and the profile refresher may write the same
	// point, and under weak ordering two replicas can keep different
	// versions of it.
	WriteOrdering string

	// Timeout bounds each attempt of a request (0 = 10s); writes also ask
	// the server to give up after it.
	Timeout time.Duration
	// Retries is how many more attempts a transient failure gets (0 = 4;
	// negative = none).
	Retries int

	// HNSWM and HNSWEfConstruct shape the graph of new collections, HNSWEf
	// is the beam of searches; 0 leaves each to Qdrant (16, 100, and
	// ef_construct at search).
	HNSWM, HNSWEfConstruct, HNSWEf uint64
	// OnDisk keeps the original vectors on disk (memory-mapped), for
	// collections larger than RAM; pair it with Quantization.
	OnDisk bool
	// Quantization is "int8" for scalar quantization held in RAM (4x
	// smaller than float32 vectors, searched first and rescored), or
	// empty/"none".
	Quantization string
	// IndexingThreshold is the kilobytes of vectors a segment holds before
	// Qdrant builds its graph (0 = Qdrant's 10,000, about 10k 256-d
	// vectors); below it, searches scan the segment.
	IndexingThreshold uint64

	// DialOptions are appended to the client's own gRPC options and win over
	// them: tests use them to dial an in-process server.
	DialOptions []grpc.DialOption
}

// Qdrant is the vector store on a Qdrant server or cluster, reached through
// the official Go client over gRPC. Every collection has one unnamed dense
// vector compared by cosine similarity, and a keyword index on the
// payload's type. Collection arguments of the point methods may name an
// alias.
type Qdrant struct {
	client   *qdrant.Client
	prefix   string
	create   *qdrant.CreateCollection // the settings of every new collection
	ordering *qdrant.WriteOrdering
	search   *qdrant.SearchParams
	onDisk   bool
	timeout  time.Duration
	retries  int

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
	cc, err := qdrantClientConfig(cfg)
	if err != nil {
		return nil, err
	}
	q := &Qdrant{prefix: cfg.CollectionPrefix, onDisk: cfg.OnDisk, timeout: cmp.Or(cfg.Timeout, qdrantDefaultTimeout), retries: cfg.Retries, dims: make(map[string]int)}
	switch {
	case cfg.Retries == 0:
		q.retries = qdrantDefaultRetries
	case cfg.Retries < 0:
		q.retries = 0
	}
	if q.create, err = qdrantCreateTemplate(cfg); err != nil {
		return nil, err
	}
	if q.ordering, err = qdrantOrdering(cfg.WriteOrdering); err != nil {
		return nil, err
	}
	if cfg.HNSWEf > 0 {
		q.search = &qdrant.SearchParams{HnswEf: qdrant.PtrOf(cfg.HNSWEf)}
	}
	if q.client, err = qdrant.NewClient(cc); err != nil {
		return nil, fmt.Errorf("connect to qdrant at %s: %w", cfg.URL, err)
	}
	return q, nil
}

// qdrantCreateTemplate is the request every new collection starts from.
func qdrantCreateTemplate(cfg QdrantConfig) (*qdrant.CreateCollection, error) {
	req := &qdrant.CreateCollection{}
	opt := func(v uint32) *uint32 {
		if v == 0 {
			return nil
		}
		return &v
	}
	req.ShardNumber, req.ReplicationFactor, req.WriteConsistencyFactor = opt(cfg.ShardNumber), opt(cfg.ReplicationFactor), opt(cfg.WriteConsistencyFactor)
	if cfg.WriteConsistencyFactor > max(cfg.ReplicationFactor, 1) {
		return nil, fmt.Errorf("qdrant: write consistency factor %d exceeds the replication factor %d", cfg.WriteConsistencyFactor, max(cfg.ReplicationFactor, 1))
	}
	if cfg.HNSWM > 0 || cfg.HNSWEfConstruct > 0 {
		req.HnswConfig = &qdrant.HnswConfigDiff{}
		if cfg.HNSWM > 0 {
			req.HnswConfig.M = qdrant.PtrOf(cfg.HNSWM)
		}
		if cfg.HNSWEfConstruct > 0 {
			req.HnswConfig.EfConstruct = qdrant.PtrOf(cfg.HNSWEfConstruct)
		}
	}
	if cfg.IndexingThreshold > 0 {
		req.OptimizersConfig = &qdrant.OptimizersConfigDiff{IndexingThreshold: qdrant.PtrOf(cfg.IndexingThreshold)}
	}
	switch cfg.Quantization {
	case "", "none":
	case "int8":
		req.QuantizationConfig = qdrant.NewQuantizationScalar(&qdrant.ScalarQuantization{
			Type: qdrant.QuantizationType_Int8,
			// The quantized copy is what searches read first: it must
			// stay in RAM even when the originals are on disk.
			AlwaysRam: qdrant.PtrOf(true),
		})
	default:
		return nil, fmt.Errorf("qdrant: quantization %q: want int8 or none", cfg.Quantization)
	}
	if cfg.OnDisk {
		req.OnDiskPayload = qdrant.PtrOf(true)
	}
	return req, nil
}

func qdrantOrdering(s string) (*qdrant.WriteOrdering, error) {
	t, ok := map[string]qdrant.WriteOrderingType{
		"": qdrant.WriteOrderingType_Medium, "medium": qdrant.WriteOrderingType_Medium,
		"weak": qdrant.WriteOrderingType_Weak, "strong": qdrant.WriteOrderingType_Strong,
	}[s]
	if !ok {
		return nil, fmt.Errorf("qdrant: write ordering %q: want weak, medium or strong", s)
	}
	return &qdrant.WriteOrdering{Type: t}, nil
}

// Close closes the connections to the server.
func (q *Qdrant) Close() error {
	if err := q.client.Close(); err != nil {
		return fmt.Errorf("close qdrant client: %w", err)
	}
	return nil
}

// Ping checks that the server answers, is of a supported version and
// accepts the API key; EUNAVAILABLE when it cannot be reached.
func (q *Qdrant) Ping(ctx context.Context) error {
	var reply *qdrant.HealthCheckReply
	err := q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
		reply, err = q.client.HealthCheck(ctx)
		return err
	})
	if err != nil {
		return qdrantError(err, "ping qdrant", "")
	}
	if err := checkQdrantVersion(reply.GetVersion()); err != nil {
		return mediarec.Errorf(mediarec.EUNAVAILABLE, "%s.", err)
	}
	// Qdrant 1.16 and later answer HealthCheck without checking the API
	// key. Listing the aliases is the cheapest call that does, so a wrong
	// key fails readiness instead of every request.
	err = q.call(ctx, q.timeout, func(ctx context.Context) error {
		_, err := q.client.ListAliases(ctx)
		return err
	})
	if err != nil {
		return qdrantError(err, "ping qdrant", "")
	}
	return nil
}

// CreateCollection makes an empty cosine collection of dim dimensions with a
// keyword index on the payload's type; ECONFLICT if the name is taken by an
// alias or by a collection of that shape (whose index it then makes sure
// of), EINTERNAL if by a collection of another shape.
func (q *Qdrant) CreateCollection(ctx context.Context, name string, dim int) error {
	return q.createCollection(ctx, name, dim, false)
}

// CreateScanCollection makes a collection as CreateCollection does, but
// without a graph (m = 0 turns Qdrant's HNSW index off): searches scan, and
// Qdrant's optimiser spends nothing on a generation written in bulk and
// replaced soon after.
func (q *Qdrant) CreateScanCollection(ctx context.Context, name string, dim int) error {
	return q.createCollection(ctx, name, dim, true)
}

// createCollection creates the collection, then its payload index. A
// create that timed out may have been applied: its retry then meets the
// collection, which is taken as made here when it has the shape asked. The
// index is made on every path (making it again is a no-op), so a
// collection left without it by a failure in between gets it on the next
// try. Nothing is dropped on failure: another replica may have pointed an
// alias at the collection meanwhile.
func (q *Qdrant) createCollection(ctx context.Context, name string, dim int, scan bool) error {
	if err := qdrantCheckName(name); err != nil {
		return err
	}
	if dim <= 0 {
		return mediarec.Errorf(mediarec.EINVALID, "A vector collection needs a positive dimension, not %d.", dim)
	}
	full := q.prefix + name
	req := proto.Clone(q.create).(*qdrant.CreateCollection)
	req.CollectionName = full
	req.VectorsConfig = qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(dim), Distance: qdrant.Distance_Cosine, OnDisk: qdrant.PtrOf(q.onDisk)})
	if scan {
		req.HnswConfig = &qdrant.HnswConfigDiff{M: qdrant.PtrOf(uint64(0))}
	}
	req.Timeout = q.serverTimeout()
	attempts := 0
	err := q.call(ctx, q.timeout+qdrantWriteGrace, func(ctx context.Context) error {
		attempts++
		_, err := q.client.GetCollectionsClient().Create(ctx, req)
		return err
	})
	taken := status.Code(err) == codes.AlreadyExists
	if err != nil && !taken {
		return qdrantError(err, "create collection", name)
	}
	if taken {
		if err := q.checkShape(ctx, full, name, dim); err != nil {
			return err
		}
	}
	// Without a payload index Qdrant checks the type filter point by point,
	// and under strict mode (Qdrant Cloud's default) refuses the filter.
	err = q.call(ctx, q.timeout+qdrantWriteGrace, func(ctx context.Context) error {
		_, err := q.client.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{
			CollectionName: full,
			Wait:           qdrant.PtrOf(true),
			FieldName:      "type",
			FieldType:      qdrant.FieldType_FieldTypeKeyword.Enum(),
			Ordering:       q.ordering,
			Timeout:        q.serverTimeout(),
		})
		return err
	})
	if err != nil {
		return qdrantError(err, "index payload type of", name)
	}
	q.setDim(full, dim)
	if taken && attempts == 1 {
		return mediarec.Errorf(mediarec.ECONFLICT, "The name %q is already taken.", name)
	}
	return nil
}

// checkShape refuses a collection that is not dim cosine vectors: a
// caller that takes ECONFLICT for "already made" would otherwise write
// vectors of one length into a collection of another.
func (q *Qdrant) checkShape(ctx context.Context, full, name string, dim int) error {
	var info *qdrant.CollectionInfo
	err := q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
		info, err = q.client.GetCollectionInfo(ctx, full)
		return err
	})
	if err != nil {
		return qdrantError(err, "read collection", name)
	}
	params := info.GetConfig().GetParams().GetVectorsConfig().GetParams()
	if params.GetSize() != uint64(dim) || params.GetDistance() != qdrant.Distance_Cosine {
		return mediarec.Errorf(mediarec.EINTERNAL, "Vector collection %q already exists with %d %s vectors, not %d cosine ones: drop it, or give this deployment another collection prefix.",
			name, params.GetSize(), strings.ToLower(params.GetDistance().String()), dim)
	}
	return nil
}

// serverTimeout is the timeout, in whole seconds, that a write asks the
// server to keep to.
func (q *Qdrant) serverTimeout() *uint64 {
	return qdrant.PtrOf(uint64(max(1, (q.timeout+time.Second-1)/time.Second)))
}

// DeleteCollection drops a collection and the aliases that point at it;
// ENOTFOUND for an unknown name (an alias is not a collection).
func (q *Qdrant) DeleteCollection(ctx context.Context, name string) error {
	full := q.prefix + name
	// The client's DeleteCollection turns Qdrant's answer for an unknown
	// name, false rather than NotFound, into an untyped error; the
	// generated client keeps it distinguishable.
	attempts, dropped := 0, false
	err := q.call(ctx, q.timeout+qdrantWriteGrace, func(ctx context.Context) error {
		attempts++
		res, err := q.client.GetCollectionsClient().Delete(ctx, &qdrant.DeleteCollection{CollectionName: full, Timeout: q.serverTimeout()})
		dropped = res.GetResult()
		return err
	})
	q.forgetDim(full)
	if err != nil {
		return qdrantError(err, "delete collection", name)
	}
	// A retry finds nothing when the attempt that failed did drop it.
	if !dropped && attempts == 1 {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Vector collection %q not found.", name)
	}
	return nil
}

// ListCollections returns the names of the collections under the prefix,
// without it, sorted. Aliases are not listed.
func (q *Qdrant) ListCollections(ctx context.Context) ([]string, error) {
	var all []string
	err := q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
		all, err = q.client.ListCollections(ctx)
		return err
	})
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
	var n uint64
	err = q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
		n, err = q.client.Count(ctx, &qdrant.CountPoints{CollectionName: full, Exact: qdrant.PtrOf(true)})
		return err
	})
	if err != nil {
		return mediarec.Collection{}, qdrantError(err, "count points of", name)
	}
	return mediarec.Collection{Name: name, Dimensions: dim, Points: int(n)}, nil
}

// Upsert adds or replaces points and returns once they are searchable;
// EINVALID on a wrong dimension or a negative id, ENOTFOUND for an unknown
// collection. A large batch is sent in several requests, each applied whole
// (or sent again until it is).
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
		req := &qdrant.UpsertPoints{CollectionName: full, Wait: qdrant.PtrOf(true), Points: chunk, Ordering: q.ordering, Timeout: q.serverTimeout()}
		err := q.call(ctx, q.timeout+qdrantWriteGrace, func(ctx context.Context) error {
			res, err := q.client.Upsert(ctx, req)
			return applied(res, err)
		})
		if err != nil {
			q.forgetDim(full)
			return qdrantError(err, "upsert into", collection)
		}
	}
	return nil
}

// applied turns a write's answer that is not Completed into errNotApplied.
func applied(res *qdrant.UpdateResult, err error) error {
	if err != nil {
		return err
	}
	if st := res.GetStatus(); st != qdrant.UpdateStatus_Completed {
		return fmt.Errorf("%w: status %s", errNotApplied, st)
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
	req := &qdrant.DeletePoints{
		CollectionName: q.prefix + collection,
		Wait:           qdrant.PtrOf(true),
		Points:         qdrant.NewPointsSelectorIDs(pids),
		Ordering:       q.ordering,
		Timeout:        q.serverTimeout(),
	}
	err := q.call(ctx, q.timeout+qdrantWriteGrace, func(ctx context.Context) error {
		res, err := q.client.Delete(ctx, req)
		return applied(res, err)
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
	req := &qdrant.QueryPoints{
		CollectionName: full,
		Query:          qdrant.NewQueryDense(vector),
		Filter:         qdrantFilter(f),
		Limit:          qdrant.PtrOf(uint64(k)),
		WithPayload:    qdrant.NewWithPayload(true),
		Params:         q.search,
		Timeout:        q.serverTimeout(),
	}
	var scored []*qdrant.ScoredPoint
	err := q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
		scored, err = q.client.Query(ctx, req)
		return err
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
		var got []*qdrant.RetrievedPoint
		err := q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
			got, err = q.client.Get(ctx, &qdrant.GetPoints{
				CollectionName: q.prefix + collection,
				Ids:            chunk,
				WithPayload:    qdrant.NewWithPayload(true),
				WithVectors:    qdrant.NewWithVectors(true),
			})
			return err
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
				ID: id,
				// GetDenseVector reads the field of the server's version:
				// Qdrant 1.15 answers in the deprecated data field.
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

// SetAlias points alias at collection; ENOTFOUND for an unknown collection,
// ECONFLICT when alias names a collection. It is one create-alias action,
// which Qdrant applies atomically: it replaces the alias's old target, and
// when the new one is missing it fails and leaves the alias as it was.
// The other nodes of a cluster learn the switch a moment later, so the
// caller keeps the old collection for a while (see embed's retiredGrace).
func (q *Qdrant) SetAlias(ctx context.Context, alias, collection string) error {
	if err := qdrantCheckName(alias); err != nil {
		return err
	}
	fullAlias, fullColl := q.prefix+alias, q.prefix+collection
	err := q.call(ctx, q.timeout+qdrantWriteGrace, func(ctx context.Context) error {
		_, err := q.client.GetCollectionsClient().UpdateAliases(ctx, &qdrant.ChangeAliases{
			Actions: []*qdrant.AliasOperations{qdrant.NewAliasCreate(fullAlias, fullColl)},
			Timeout: q.serverTimeout(),
		})
		return err
	})
	q.forgetDim(fullAlias)
	if status.Code(err) == codes.NotFound {
		return fmt.Errorf("set alias %q: %w: %w", alias, mediarec.Errorf(mediarec.ENOTFOUND, "Vector collection %q not found.", collection), err)
	}
	if err != nil {
		return qdrantError(err, "set alias", alias)
	}
	return nil
}

// ResolveAlias returns the collection an alias points at, or ENOTFOUND.
func (q *Qdrant) ResolveAlias(ctx context.Context, alias string) (string, error) {
	var aliases []*qdrant.AliasDescription
	err := q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
		aliases, err = q.client.ListAliases(ctx)
		return err
	})
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
	var info *qdrant.CollectionInfo
	err := q.call(ctx, q.timeout, func(ctx context.Context) (err error) {
		info, err = q.client.GetCollectionInfo(ctx, full)
		return err
	})
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
