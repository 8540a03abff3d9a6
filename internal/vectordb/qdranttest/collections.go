package qdranttest

import (
	"cmp"
	"context"
	"slices"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

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
	case params == nil || params.GetDistance() != qdrant.Distance_Cosine && params.GetDistance() != qdrant.Distance_Dot:
		return nil, status.Error(codes.Unimplemented, "qdranttest supports one unnamed cosine or dot vector per collection")
	case params.GetSize() == 0 || params.GetSize() > 65536:
		return nil, status.Error(codes.InvalidArgument, "Validation error in body: [vectors_config.size: value out of range]")
	}
	s.collections[name] = &collection{
		dim:      int(params.GetSize()),
		distance: params.GetDistance(),
		config:   collectionConfig(req, s.strict),
		points:   map[uint64]point{},
		indexes:  map[string]qdrant.FieldType{},
	}
	return &qdrant.CollectionOperationResponse{Result: true}, nil
}

// collectionConfig is what Qdrant reports for a collection made by req:
// what the request set, and the defaults of Qdrant's stock config.yaml
// (config/config.yaml in qdrant/qdrant) for the rest.
func collectionConfig(req *qdrant.CreateCollection, strict bool) *qdrant.CollectionConfig {
	hnsw := &qdrant.HnswConfigDiff{
		M:                  qdrant.PtrOf(uint64(16)),
		EfConstruct:        qdrant.PtrOf(uint64(100)),
		FullScanThreshold:  qdrant.PtrOf(uint64(10000)),
		MaxIndexingThreads: qdrant.PtrOf(uint64(0)),
		OnDisk:             qdrant.PtrOf(false),
	}
	proto.Merge(hnsw, req.GetHnswConfig())
	optimizers := &qdrant.OptimizersConfigDiff{
		DeletedThreshold:      qdrant.PtrOf(0.2),
		VacuumMinVectorNumber: qdrant.PtrOf(uint64(1000)),
		DefaultSegmentNumber:  qdrant.PtrOf(uint64(0)),
		IndexingThreshold:     qdrant.PtrOf(uint64(10000)),
		FlushIntervalSec:      qdrant.PtrOf(uint64(5)),
	}
	proto.Merge(optimizers, req.GetOptimizersConfig())
	wal := &qdrant.WalConfigDiff{WalCapacityMb: qdrant.PtrOf(uint64(32)), WalSegmentsAhead: qdrant.PtrOf(uint64(0))}
	proto.Merge(wal, req.GetWalConfig())
	cfg := &qdrant.CollectionConfig{
		Params: &qdrant.CollectionParams{
			ShardNumber:            cmp.Or(req.GetShardNumber(), 1),
			OnDiskPayload:          req.OnDiskPayload == nil || req.GetOnDiskPayload(),
			VectorsConfig:          proto.CloneOf(req.GetVectorsConfig()),
			ReplicationFactor:      qdrant.PtrOf(cmp.Or(req.GetReplicationFactor(), 1)),
			WriteConsistencyFactor: qdrant.PtrOf(cmp.Or(req.GetWriteConsistencyFactor(), 1)),
		},
		HnswConfig:         hnsw,
		OptimizerConfig:    optimizers,
		WalConfig:          wal,
		QuantizationConfig: proto.CloneOf(req.GetQuantizationConfig()),
	}
	if strict {
		// What Qdrant Cloud reports for a collection it refuses unindexed
		// filters on.
		cfg.StrictModeConfig = &qdrant.StrictModeConfig{Enabled: qdrant.PtrOf(true), UnindexedFilteringRetrieve: qdrant.PtrOf(false)}
	}
	return cfg
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

// schemaTypes maps an index's field type to the type Get reports for it.
var schemaTypes = map[qdrant.FieldType]qdrant.PayloadSchemaType{
	qdrant.FieldType_FieldTypeKeyword:  qdrant.PayloadSchemaType_Keyword,
	qdrant.FieldType_FieldTypeInteger:  qdrant.PayloadSchemaType_Integer,
	qdrant.FieldType_FieldTypeFloat:    qdrant.PayloadSchemaType_Float,
	qdrant.FieldType_FieldTypeGeo:      qdrant.PayloadSchemaType_Geo,
	qdrant.FieldType_FieldTypeText:     qdrant.PayloadSchemaType_Text,
	qdrant.FieldType_FieldTypeBool:     qdrant.PayloadSchemaType_Bool,
	qdrant.FieldType_FieldTypeDatetime: qdrant.PayloadSchemaType_Datetime,
	qdrant.FieldType_FieldTypeUuid:     qdrant.PayloadSchemaType_Uuid,
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
	for field, typ := range c.indexes {
		schema[field] = &qdrant.PayloadSchemaInfo{DataType: schemaTypes[typ], Points: qdrant.PtrOf(uint64(len(c.points)))}
	}
	return &qdrant.GetCollectionInfoResponse{Result: &qdrant.CollectionInfo{
		Status:        qdrant.CollectionStatus_Green,
		SegmentsCount: 1,
		PointsCount:   qdrant.PtrOf(uint64(len(c.points))),
		PayloadSchema: schema,
		Config:        proto.CloneOf(c.config),
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
// one stay applied. CreateAlias on a taken alias repoints it in that one
// step, so a search by alias never misses.
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
