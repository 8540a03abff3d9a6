package qdranttest

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type pointsService struct {
	qdrant.UnimplementedPointsServer
	s *Server
}

var completed = &qdrant.PointsOperationResponse{Result: &qdrant.UpdateResult{Status: qdrant.UpdateStatus_Completed}}

// Upsert validates the whole batch before applying any of it, as Qdrant
// validates a request before it reaches the collection. A plan set by
// UpsertStatus then limits what is applied and sets the status.
func (ps pointsService) Upsert(_ context.Context, req *qdrant.UpsertPoints) (*qdrant.PointsOperationResponse, error) {
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(req.GetPoints()))
	vectors := make([][]float32, len(req.GetPoints()))
	for i, p := range req.GetPoints() {
		num, ok := p.GetId().GetPointIdOptions().(*qdrant.PointId_Num)
		if !ok {
			return nil, status.Error(codes.Unimplemented, "qdranttest supports numeric point ids only")
		}
		v := p.GetVectors().GetVector()
		data := v.GetDense().GetData()
		if data == nil {
			//lint:ignore SA1019 the deprecated field is what older clients fill
			data = v.GetData()
		}
		if len(data) != c.dim {
			return nil, dimensionError(c.dim, len(data))
		}
		ids[i], vectors[i] = num.Num, c.stored(data)
	}
	apply, resp := len(ids), completed
	if plan := s.upsert; plan != nil {
		s.upsert = nil
		if plan.status != qdrant.UpdateStatus_WaitTimeout || !s.legacy {
			resp = &qdrant.PointsOperationResponse{Result: &qdrant.UpdateResult{Status: plan.status}}
			if plan.apply >= 0 {
				apply = min(apply, plan.apply)
			}
		}
	}
	for i, p := range req.GetPoints()[:apply] {
		c.points[ids[i]] = point{vector: vectors[i], payload: p.GetPayload()}
	}
	return resp, nil
}

// stored is v as the collection keeps it: Qdrant normalises cosine vectors
// on the way in and keeps dot vectors as given.
func (c *collection) stored(v []float32) []float32 {
	if c.distance == qdrant.Distance_Cosine {
		return normalise(v)
	}
	return slices.Clone(v)
}

func (ps pointsService) Delete(_ context.Context, req *qdrant.DeletePoints) (*qdrant.PointsOperationResponse, error) {
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.GetPoints().GetFilter() != nil {
		return nil, status.Error(codes.Unimplemented, "qdranttest deletes by id only")
	}
	for _, id := range req.GetPoints().GetPoints().GetIds() {
		delete(c.points, id.GetNum())
	}
	return completed, nil
}

func (ps pointsService) Get(_ context.Context, req *qdrant.GetPoints) (*qdrant.GetResponse, error) {
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	resp := &qdrant.GetResponse{}
	for _, id := range req.GetIds() {
		p, ok := c.points[id.GetNum()]
		if !ok {
			continue
		}
		rp := &qdrant.RetrievedPoint{Id: qdrant.NewIDNum(id.GetNum())}
		if req.GetWithPayload().GetEnable() {
			rp.Payload = p.payload
		}
		if req.GetWithVectors().GetEnable() {
			rp.Vectors = vectorOutput(p.vector, s.legacy)
		}
		resp.Result = append(resp.Result, rp)
	}
	return resp, nil
}

// Query answers nearest-neighbour queries by an exact scan, whatever the
// search params (hnsw_ef, exact) and timeout say.
func (ps pointsService) Query(_ context.Context, req *qdrant.QueryPoints) (*qdrant.QueryResponse, error) {
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	dense := req.GetQuery().GetNearest().GetDense()
	if dense == nil || len(req.GetPrefetch()) > 0 {
		return nil, status.Error(codes.Unimplemented, "qdranttest answers nearest queries with a dense vector only")
	}
	if len(dense.GetData()) != c.dim {
		return nil, dimensionError(c.dim, len(dense.GetData()))
	}
	if err := s.checkFilter(c, req.GetFilter()); err != nil {
		return nil, err
	}
	q := c.stored(dense.GetData())
	var hits []*qdrant.ScoredPoint
	for id, p := range c.points {
		if !matches(req.GetFilter(), id, p) {
			continue
		}
		var dot float32
		for i := range q {
			dot += q[i] * p.vector[i]
		}
		hit := &qdrant.ScoredPoint{Id: qdrant.NewIDNum(id), Score: dot}
		if req.GetWithPayload().GetEnable() {
			hit.Payload = p.payload
		}
		if req.GetWithVectors().GetEnable() {
			hit.Vectors = vectorOutput(p.vector, s.legacy)
		}
		hits = append(hits, hit)
	}
	slices.SortFunc(hits, func(a, b *qdrant.ScoredPoint) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Id.GetNum(), b.Id.GetNum()))
	})
	limit := uint64(10) // Qdrant's default
	if req.Limit != nil {
		limit = req.GetLimit()
	}
	offset := min(req.GetOffset(), uint64(len(hits)))
	hits = hits[offset:]
	return &qdrant.QueryResponse{Result: hits[:min(limit, uint64(len(hits)))]}, nil
}

func (ps pointsService) Count(_ context.Context, req *qdrant.CountPoints) (*qdrant.CountResponse, error) {
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if err := s.checkFilter(c, req.GetFilter()); err != nil {
		return nil, err
	}
	var n uint64
	for id, p := range c.points {
		if matches(req.GetFilter(), id, p) {
			n++
		}
	}
	return &qdrant.CountResponse{Result: &qdrant.CountResult{Count: n}}, nil
}

func (ps pointsService) CreateFieldIndex(_ context.Context, req *qdrant.CreateFieldIndexCollection) (*qdrant.PointsOperationResponse, error) {
	s := ps.s
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.GetFieldName() == "" {
		return nil, status.Error(codes.InvalidArgument, "Validation error in body: [field_name: length is 0]")
	}
	c.indexes[req.GetFieldName()] = req.GetFieldType()
	return completed, nil
}

// vectorOutput is a stored vector as Qdrant sends it back: in the dense
// oneof since 1.16, in the now deprecated data field before (the gRPC
// conversion From<VectorInternal> for grpc::VectorOutput in 1.15 left the
// oneof empty).
func vectorOutput(v []float32, legacy bool) *qdrant.VectorsOutput {
	out := &qdrant.VectorOutput{Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: slices.Clone(v)}}}
	if legacy {
		//lint:ignore SA1019 the deprecated field is what 1.15 filled
		out = &qdrant.VectorOutput{Data: slices.Clone(v)}
	}
	return &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{Vector: out}}
}

// normalise returns v scaled to unit length; a zero vector stays zero.
func normalise(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	out := slices.Clone(v)
	if sum == 0 {
		return out
	}
	norm := float32(math.Sqrt(sum))
	for i := range out {
		out[i] /= norm
	}
	return out
}

// checkFilter refuses filters with conditions matches cannot evaluate, so
// that they fail even on an empty collection, and in strict mode filters on
// keys without an index.
func (s *Server) checkFilter(c *collection, f *qdrant.Filter) error {
	if err := checkConditions(f); err != nil {
		return err
	}
	if !s.strict {
		return nil
	}
	if key, ok := unindexedKey(c, f); ok {
		// Qdrant's words, from check_request_filter in
		// lib/collection/src/operations/verification/mod.rs: a strict mode
		// error, which the API sends as a bad request. Every condition the
		// stand-in evaluates is a keyword match, hence the one type.
		return status.Errorf(codes.InvalidArgument,
			"Bad request: Index required but not found for \"%s\" of one of the following types: [keyword]. Help: Create an index for this key or use a different filter.", key)
	}
	return nil
}

// unindexedKey finds a field condition in f on a key without a keyword
// index; has_id needs none.
func unindexedKey(c *collection, f *qdrant.Filter) (string, bool) {
	for _, cond := range slices.Concat(f.GetMust(), f.GetMustNot(), f.GetShould()) {
		switch cond := cond.GetConditionOneOf().(type) {
		case *qdrant.Condition_Filter:
			if key, ok := unindexedKey(c, cond.Filter); ok {
				return key, true
			}
		case *qdrant.Condition_Field:
			if typ, ok := c.indexes[cond.Field.GetKey()]; !ok || typ != qdrant.FieldType_FieldTypeKeyword {
				return cond.Field.GetKey(), true
			}
		}
	}
	return "", false
}

func checkConditions(f *qdrant.Filter) error {
	if f.GetMinShould() != nil {
		return status.Error(codes.Unimplemented, "qdranttest: min_should is not supported")
	}
	for _, c := range slices.Concat(f.GetMust(), f.GetMustNot(), f.GetShould()) {
		switch cond := c.GetConditionOneOf().(type) {
		case *qdrant.Condition_HasId:
		case *qdrant.Condition_Filter:
			if err := checkConditions(cond.Filter); err != nil {
				return err
			}
		case *qdrant.Condition_Field:
			switch cond.Field.GetMatch().GetMatchValue().(type) {
			case *qdrant.Match_Keyword, *qdrant.Match_Keywords:
			default:
				return status.Errorf(codes.Unimplemented, "qdranttest: only keyword matches are supported, not %v", cond.Field)
			}
		default:
			return status.Errorf(codes.Unimplemented, "qdranttest: condition %v is not supported", c)
		}
	}
	return nil
}

// matches evaluates a filter checked by checkFilter; nil matches everything.
func matches(f *qdrant.Filter, id uint64, p point) bool {
	for _, c := range f.GetMust() {
		if !condition(c, id, p) {
			return false
		}
	}
	for _, c := range f.GetMustNot() {
		if condition(c, id, p) {
			return false
		}
	}
	return len(f.GetShould()) == 0 || slices.ContainsFunc(f.GetShould(), func(c *qdrant.Condition) bool { return condition(c, id, p) })
}

func condition(c *qdrant.Condition, id uint64, p point) bool {
	switch cond := c.GetConditionOneOf().(type) {
	case *qdrant.Condition_HasId:
		return slices.ContainsFunc(cond.HasId.GetHasId(), func(h *qdrant.PointId) bool { return h.GetNum() == id })
	case *qdrant.Condition_Filter:
		return matches(cond.Filter, id, p)
	case *qdrant.Condition_Field:
		m := cond.Field.GetMatch()
		wanted := m.GetKeywords().GetStrings()
		if kw, ok := m.GetMatchValue().(*qdrant.Match_Keyword); ok {
			wanted = []string{kw.Keyword}
		}
		// A keyword condition on a list matches when any element does.
		v := p.payload[cond.Field.GetKey()]
		values := []*qdrant.Value{v}
		if l := v.GetListValue(); l != nil {
			values = l.GetValues()
		}
		for _, v := range values {
			if s, ok := v.GetKind().(*qdrant.Value_StringValue); ok && slices.Contains(wanted, s.StringValue) {
				return true
			}
		}
	}
	return false
}
