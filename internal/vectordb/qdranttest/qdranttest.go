// Package qdranttest runs an in-process stand-in for Qdrant's gRPC API, so
// that the Qdrant adapter can be tested through the real Go client on
// machines without a Qdrant server.
//
// It implements the client's own generated service interfaces, and only as
// much of them as the adapter uses: single unnamed cosine vectors, numeric
// ids, exact search, filters made of keyword matches and has_id, aliases and
// payload indexes. Where it answers, it answers as Qdrant does, errors
// included: NotFound for an unknown collection, AlreadyExists for a taken
// name, InvalidArgument for a vector of the wrong size, false from Delete of
// an unknown collection, alias actions applied in order without rollback.
// Anything else is Unimplemented, so that a test relying on it fails loudly.
package qdranttest

import (
	"cmp"
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Server is a running fake Qdrant.
type Server struct {
	lis    net.Listener
	srv    *grpc.Server
	apiKey string

	mu          sync.Mutex
	collections map[string]*collection
	aliases     map[string]string // alias → collection
	failNext    error
}

type collection struct {
	dim     int
	points  map[uint64]point
	indexes map[string]qdrant.FieldType
}

type point struct {
	vector  []float32 // normalised, as Qdrant stores cosine vectors
	payload map[string]*qdrant.Value
}

// Option configures Start.
type Option func(*Server)

// WithAPIKey makes the server refuse requests without this api-key header,
// except HealthCheck, which Qdrant serves to anyone.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// Start serves an empty fake Qdrant on a loopback port until the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{collections: map[string]*collection{}, aliases: map[string]string{}}
	for _, o := range opts {
		o(s)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("qdranttest: listen: %v", err)
	}
	s.lis = lis
	s.srv = grpc.NewServer(
		grpc.UnaryInterceptor(s.intercept),
		// The Go client pings idle connections every 10 s; grpc-go's default
		// policy answers that with GOAWAY, which Qdrant does not.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
	)
	qdrant.RegisterQdrantServer(s.srv, healthService{})
	qdrant.RegisterCollectionsServer(s.srv, collectionsService{s: s})
	qdrant.RegisterPointsServer(s.srv, pointsService{s: s})
	go s.srv.Serve(lis) //nolint:errcheck // returns once Close stops the server
	tb.Cleanup(s.Close)
	return s
}

// URL is what vectordb.QdrantConfig.URL takes.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Addr is the server's host:port, for tests that dial it themselves.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops the server, dropping its connections; later calls fail as
// they would against a Qdrant that went away.
func (s *Server) Close() { s.srv.Stop() }

// FailNext makes the next request, whatever it is, fail with err (a
// status.Error, to look like Qdrant).
func (s *Server) FailNext(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = err
}

// PayloadIndexes returns the payload fields indexed in a collection, by
// type; nil for an unknown collection.
func (s *Server) PayloadIndexes(name string) map[string]qdrant.FieldType {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.collections[name]
	if !ok {
		return nil
	}
	out := make(map[string]qdrant.FieldType, len(c.indexes))
	for k, v := range c.indexes {
		out[k] = v
	}
	return out
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.apiKey != "" && info.FullMethod != qdrant.Qdrant_HealthCheck_FullMethodName {
		md, _ := metadata.FromIncomingContext(ctx)
		if keys := md.Get("api-key"); len(keys) != 1 || keys[0] != s.apiKey {
			return nil, status.Error(codes.Unauthenticated, "Invalid API key or JWT")
		}
	}
	s.mu.Lock()
	err := s.failNext
	s.failNext = nil
	s.mu.Unlock()
	if status.Code(err) == codes.ResourceExhausted {
		// Qdrant tells a rate-limited client when to retry.
		grpc.SetTrailer(ctx, metadata.Pairs("retry-after", "1")) //nolint:errcheck // only fails outside a call
	}
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// resolve finds a collection by name or alias; the caller holds s.mu.
func (s *Server) resolve(name string) (*collection, error) {
	if c, ok := s.collections[name]; ok {
		return c, nil
	}
	if target, ok := s.aliases[name]; ok {
		return s.collections[target], nil
	}
	return nil, notFound(name)
}

func notFound(name string) error {
	return status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", name)
}

func dimensionError(want, got int) error {
	return status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", want, got)
}

type healthService struct {
	qdrant.UnimplementedQdrantServer
}

func (healthService) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	return &qdrant.HealthCheckReply{Title: "qdranttest", Version: "1.17.0"}, nil
}

type collectionsService struct {
	qdrant.UnimplementedCollectionsServer
	s *Server
}

func (cs collectionsService) Create(_ context.Context, req *qdrant.CreateCollection) (*qdrant.CollectionOperationResponse, error) {
	s := cs.s
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetCollectionName()
	params := req.GetVectorsConfig().GetParams()
	switch {
	case name == "":
		return nil, status.Error(codes.InvalidArgument, "Validation error in body: [collection_name: length is 0]")
	case s.collections[name] != nil:
		return nil, status.Errorf(codes.AlreadyExists, "Wrong input: Collection `%s` already exists!", name)
	case s.aliases[name] != "":
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Can't create collection with name %s. Alias with the same name already exists", name)
	case params == nil || params.GetDistance() != qdrant.Distance_Cosine:
		return nil, status.Error(codes.Unimplemented, "qdranttest supports one unnamed cosine vector per collection")
	case params.GetSize() == 0 || params.GetSize() > 65536:
		return nil, status.Error(codes.InvalidArgument, "Validation error in body: [vectors_config.size: value out of range]")
	}
	s.collections[name] = &collection{dim: int(params.GetSize()), points: map[uint64]point{}, indexes: map[string]qdrant.FieldType{}}
	return &qdrant.CollectionOperationResponse{Result: true}, nil
}

func (cs collectionsService) Delete(_ context.Context, req *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	s := cs.s
	s.mu.Lock()
	defer s.mu.Unlock()
	name := req.GetCollectionName()
	for alias, target := range s.aliases {
		if target == name {
			delete(s.aliases, alias)
		}
	}
	_, ok := s.collections[name]
	delete(s.collections, name)
	return &qdrant.CollectionOperationResponse{Result: ok}, nil
}

func (cs collectionsService) Get(_ context.Context, req *qdrant.GetCollectionInfoRequest) (*qdrant.GetCollectionInfoResponse, error) {
	s := cs.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	schema := map[string]*qdrant.PayloadSchemaInfo{}
	for field := range c.indexes {
		schema[field] = &qdrant.PayloadSchemaInfo{DataType: qdrant.PayloadSchemaType_Keyword, Points: qdrant.PtrOf(uint64(len(c.points)))}
	}
	return &qdrant.GetCollectionInfoResponse{Result: &qdrant.CollectionInfo{
		Status:        qdrant.CollectionStatus_Green,
		SegmentsCount: 1,
		PointsCount:   qdrant.PtrOf(uint64(len(c.points))),
		PayloadSchema: schema,
		Config: &qdrant.CollectionConfig{Params: &qdrant.CollectionParams{
			ShardNumber:   1,
			VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(c.dim), Distance: qdrant.Distance_Cosine}),
		}},
	}}, nil
}

func (cs collectionsService) List(context.Context, *qdrant.ListCollectionsRequest) (*qdrant.ListCollectionsResponse, error) {
	s := cs.s
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &qdrant.ListCollectionsResponse{}
	for name := range s.collections {
		resp.Collections = append(resp.Collections, &qdrant.CollectionDescription{Name: name})
	}
	slices.SortFunc(resp.Collections, func(a, b *qdrant.CollectionDescription) int { return cmp.Compare(a.Name, b.Name) })
	return resp, nil
}

// UpdateAliases applies the actions in order under one lock, as Qdrant
// does: no search sees a half-applied request, but actions before a failing
// one stay applied.
func (cs collectionsService) UpdateAliases(_ context.Context, req *qdrant.ChangeAliases) (*qdrant.CollectionOperationResponse, error) {
	s := cs.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, action := range req.GetActions() {
		switch a := action.GetAction().(type) {
		case *qdrant.AliasOperations_CreateAlias:
			alias, target := a.CreateAlias.GetAliasName(), a.CreateAlias.GetCollectionName()
			if s.collections[target] == nil {
				return nil, notFound(target)
			}
			if s.collections[alias] != nil {
				return nil, status.Errorf(codes.AlreadyExists, "Wrong input: Collection `%s` already exists!", alias)
			}
			s.aliases[alias] = target
		case *qdrant.AliasOperations_DeleteAlias:
			delete(s.aliases, a.DeleteAlias.GetAliasName())
		case *qdrant.AliasOperations_RenameAlias:
			target, ok := s.aliases[a.RenameAlias.GetOldAliasName()]
			if !ok {
				return nil, status.Errorf(codes.NotFound, "Not found: Alias %s does not exists!", a.RenameAlias.GetOldAliasName())
			}
			delete(s.aliases, a.RenameAlias.GetOldAliasName())
			s.aliases[a.RenameAlias.GetNewAliasName()] = target
		default:
			return nil, status.Error(codes.InvalidArgument, "Wrong input: empty alias action")
		}
	}
	return &qdrant.CollectionOperationResponse{Result: true}, nil
}

func (cs collectionsService) ListAliases(context.Context, *qdrant.ListAliasesRequest) (*qdrant.ListAliasesResponse, error) {
	s := cs.s
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &qdrant.ListAliasesResponse{}
	for alias, target := range s.aliases {
		resp.Aliases = append(resp.Aliases, &qdrant.AliasDescription{AliasName: alias, CollectionName: target})
	}
	slices.SortFunc(resp.Aliases, func(a, b *qdrant.AliasDescription) int { return cmp.Compare(a.AliasName, b.AliasName) })
	return resp, nil
}
