// Package qdranttest runs an in-process stand-in for Qdrant's gRPC API, so
// that the Qdrant adapter can be tested through the real Go client on
// machines without a Qdrant server.
//
// It implements the client's own generated service interfaces, and only as
// much of them as the adapter uses: single unnamed cosine or dot vectors,
// numeric ids, exact search, filters made of keyword matches and has_id,
// aliases and payload indexes. Where it answers, it answers as Qdrant does,
// errors included:
//
//   - NotFound for an unknown collection, AlreadyExists for a taken name,
//     InvalidArgument for a vector of the wrong size, false from Delete of an
//     unknown collection;
//   - alias actions applied in order without rollback, create_alias
//     replacing an existing alias in one step and refusing a missing target;
//   - the collection's configuration reported back by Get with Qdrant's
//     defaults for what Create left out;
//   - with WithAPIKey, Unauthenticated for a missing or wrong key;
//   - with WithStrictMode, InvalidArgument for a Query or Count filtering on
//     a payload key without a matching index, as Qdrant Cloud does;
//   - with WithVersion below 1.16, the 1.15 wire format (vectors in the
//     deprecated VectorOutput.Data) and an authenticated HealthCheck.
//
// Tests can make it misbehave as a loaded cluster does: Fail and FailAfter
// queue errors (ResourceExhausted and PleaseRetry build Qdrant's own), Stall
// delays a call until the client's deadline, UpsertStatus answers an Upsert
// with WaitTimeout after applying part of it. Calls records every request.
//
// Anything else is Unimplemented, so that a test relying on it fails loudly.
package qdranttest

import (
	"context"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// defaultVersion is the Qdrant release the stand-in answers as.
const defaultVersion = "1.17.1"

// Server is a running fake Qdrant.
type Server struct {
	lis     net.Listener
	srv     *grpc.Server
	apiKey  string
	strict  bool
	version string
	legacy  bool // version < 1.16: the 1.15 wire format and auth rules

	mu          sync.Mutex
	collections map[string]*collection
	aliases     map[string]string // alias → collection
	calls       []Call
	faults      map[string][]fault         // by full method name; "" for any
	stalls      map[string][]time.Duration // by full method name; "" for any
	upsert      *upsertPlan
}

type collection struct {
	dim      int
	distance qdrant.Distance
	config   *qdrant.CollectionConfig // as Get reports it
	points   map[uint64]point
	indexes  map[string]qdrant.FieldType
}

type point struct {
	vector  []float32 // normalised for cosine, as Qdrant stores it
	payload map[string]*qdrant.Value
}

// Option configures Start.
type Option func(*Server)

// WithAPIKey makes the server refuse requests without this api-key header,
// except HealthCheck, which Qdrant 1.16 and later serve to anyone.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// WithStrictMode makes the server refuse, as Qdrant Cloud's strict mode with
// unindexed_filtering_retrieve false does, a Query or Count whose filter
// matches on a payload key that has no keyword index in the collection.
func WithStrictMode() Option { return func(s *Server) { s.strict = true } }

// WithVersion sets the version HealthCheck reports (default 1.17.1). Below
// 1.16 the server also behaves as 1.15 did: vectors come back in the
// deprecated VectorOutput.Data field, HealthCheck needs the API key, and an
// Upsert never answers WaitTimeout.
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// Start serves an empty fake Qdrant on a loopback port until the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{
		version:     defaultVersion,
		collections: map[string]*collection{},
		aliases:     map[string]string{},
		faults:      map[string][]fault{},
		stalls:      map[string][]time.Duration{},
	}
	for _, o := range opts {
		o(s)
	}
	s.legacy = versionBefore(s.version, 1, 16)
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
	qdrant.RegisterQdrantServer(s.srv, healthService{s: s})
	qdrant.RegisterCollectionsServer(s.srv, collectionsService{s: s})
	qdrant.RegisterPointsServer(s.srv, pointsService{s: s})
	go s.srv.Serve(lis) //nolint:errcheck // returns once Close stops the server
	tb.Cleanup(s.Close)
	return s
}

// versionBefore reports whether v ("1.15.4") is older than major.minor; an
// unparsable version counts as current.
func versionBefore(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return maj < major || maj == major && mnr < minor
}

// URL is what vectordb.QdrantConfig.URL takes.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Addr is the server's host:port, for tests that dial it themselves.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops the server, dropping its connections; later calls fail as
// they would against a Qdrant that went away.
func (s *Server) Close() { s.srv.Stop() }

// PayloadIndexes returns the payload fields indexed in a collection, by
// type; nil for an unknown collection.
func (s *Server) PayloadIndexes(name string) map[string]qdrant.FieldType {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.collections[name]
	if !ok {
		return nil
	}
	return maps.Clone(c.indexes)
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
	s *Server
}

func (h healthService) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	return &qdrant.HealthCheckReply{Title: "qdranttest", Version: h.s.version}, nil
}
