package vectordb

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"mediarec"
)

// qdrantCheckName refuses names Qdrant would reject with a less helpful
// message, or that would escape into a URL path of its REST API.
func qdrantCheckName(name string) error {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, `/\:*?"<>|`) || !utf8.ValidString(name) {
		return mediarec.Errorf(mediarec.EINVALID, "%q is not a valid collection or alias name.", name)
	}
	return nil
}

// qdrantIDs converts item ids to point ids, dropping negative ones, which
// no point can have.
func qdrantIDs(ids []int64) []*qdrant.PointId {
	out := make([]*qdrant.PointId, 0, len(ids))
	for _, id := range ids {
		if id >= 0 {
			out = append(out, qdrant.NewIDNum(uint64(id)))
		}
	}
	return out
}

// qdrantID converts a point id back; points not written by this adapter may
// have UUIDs or ids beyond int64.
func qdrantID(id *qdrant.PointId) (int64, error) {
	num, ok := id.GetPointIdOptions().(*qdrant.PointId_Num)
	if !ok || num.Num > math.MaxInt64 {
		return 0, fmt.Errorf("point id %v is not an item id", id)
	}
	return int64(num.Num), nil
}

// qdrantFilter builds the query filter: must match one of the types, must
// not be one of the excluded ids. Nil when it filters nothing.
func qdrantFilter(f mediarec.VectorFilter) *qdrant.Filter {
	var filter qdrant.Filter
	if len(f.Types) > 0 {
		types := make([]string, len(f.Types))
		for i, t := range f.Types {
			types[i] = string(t)
		}
		filter.Must = append(filter.Must, qdrant.NewMatchKeywords("type", types...))
	}
	if ids := qdrantIDs(f.ExcludeIDs); len(ids) > 0 {
		filter.MustNot = append(filter.MustNot, qdrant.NewHasID(ids...))
	}
	if len(filter.Must) == 0 && len(filter.MustNot) == 0 {
		return nil
	}
	return &filter
}

// qdrantPayload converts a payload to Qdrant values. Strings are checked
// here because protobuf refuses to marshal invalid UTF-8 with an error that
// would read as an internal one.
func qdrantPayload(p mediarec.VectorPayload) (map[string]*qdrant.Value, error) {
	list := func(ss []string) *qdrant.Value {
		vs := make([]*qdrant.Value, len(ss))
		for i, s := range ss {
			vs[i] = qdrant.NewValueString(s)
		}
		return qdrant.NewValueFromList(vs...)
	}
	for _, s := range slices.Concat([]string{string(p.Type), p.Version}, p.Genres, p.Tags) {
		if !utf8.ValidString(s) {
			return nil, mediarec.Errorf(mediarec.EINVALID, "Payload string %q is not valid UTF-8.", s)
		}
	}
	m := map[string]*qdrant.Value{
		"type":   qdrant.NewValueString(string(p.Type)),
		"genres": list(p.Genres),
		"tags":   list(p.Tags),
	}
	if p.Year != 0 {
		m["year"] = qdrant.NewValueInt(int64(p.Year))
	}
	if p.Version != "" {
		m["version"] = qdrant.NewValueString(p.Version)
	}
	return m, nil
}

// qdrantFromPayload converts Qdrant values back, tolerating a year stored as
// a float by a JSON writer.
func qdrantFromPayload(m map[string]*qdrant.Value) mediarec.VectorPayload {
	list := func(v *qdrant.Value) []string {
		out := []string{}
		for _, e := range v.GetListValue().GetValues() {
			out = append(out, e.GetStringValue())
		}
		return out
	}
	p := mediarec.VectorPayload{
		Type:    mediarec.ItemType(m["type"].GetStringValue()),
		Genres:  list(m["genres"]),
		Tags:    list(m["tags"]),
		Version: m["version"].GetStringValue(),
	}
	switch y := m["year"].GetKind().(type) {
	case *qdrant.Value_IntegerValue:
		p.Year = int(y.IntegerValue)
	case *qdrant.Value_DoubleValue:
		p.Year = int(y.DoubleValue)
	}
	return p
}

// qdrantError translates an error of the client into the application's
// codes, keeping the original in the chain for logs. name is the collection
// or alias the operation was about, as the caller named it.
//
// Qdrant's own codes (its StorageError → tonic mapping) say whose fault a
// failure is: a node, shard or rate limit that another attempt may pass is
// unavailable; a refusal by the server's configuration (strict mode, its
// limits, a key without the right) is the operator's to fix, not the
// caller's, and is internal; only a request the server finds malformed is
// invalid.
func qdrantError(err error, op, name string) error {
	subject := "The vector store"
	if name != "" {
		op = fmt.Sprintf("%s %q", op, name)
		subject = fmt.Sprintf("Vector collection %q", name)
	}
	st := status.Convert(err)
	msg := st.Message()
	var exhausted *qdrant.QdrantResourceExhaustedError
	var app *mediarec.Error
	switch code := st.Code(); {
	case errors.Is(err, errNotApplied):
		app = mediarec.Errorf(mediarec.EUNAVAILABLE, "The vector store did not apply the write in time; try again later.")
	case errors.As(err, &exhausted) || code == codes.ResourceExhausted:
		app = mediarec.Errorf(mediarec.EUNAVAILABLE, "The vector store is overloaded; try again later.")
	case code == codes.Unavailable || code == codes.DeadlineExceeded || code == codes.Aborted ||
		code == codes.Internal && qdrantPleaseRetry(msg):
		app = mediarec.Errorf(mediarec.EUNAVAILABLE, "The vector store is unavailable.")
	case code == codes.Canceled:
		app = mediarec.Errorf(mediarec.EUNAVAILABLE, "The vector store request was cancelled.")
	case code == codes.FailedPrecondition:
		// A collection locked for writes, a shard being recovered.
		app = mediarec.Errorf(mediarec.EUNAVAILABLE, "%s cannot take this request now: %s", subject, msg)
	case code == codes.NotFound:
		app = mediarec.Errorf(mediarec.ENOTFOUND, "%s not found.", subject)
	// Qdrant reports some taken names as invalid input: every one before
	// 1.8, a collection named like an existing alias still.
	case code == codes.AlreadyExists || code == codes.InvalidArgument && strings.Contains(msg, "already exists"):
		app = mediarec.Errorf(mediarec.ECONFLICT, "The name %q is already taken.", name)
	case code == codes.PermissionDenied || code == codes.InvalidArgument && qdrantRefusedByConfig(msg):
		app = mediarec.Errorf(mediarec.EINTERNAL, "The vector store's configuration refused the request (strict mode or its limits): %s", msg)
	case code == codes.Unauthenticated:
		app = mediarec.Errorf(mediarec.EINTERNAL, "The vector store refused the API key: check QDRANT_API_KEY.")
	case code == codes.InvalidArgument:
		app = mediarec.Errorf(mediarec.EINVALID, "%s refused the request as invalid.", subject)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, app, err)
}

// qdrantRefusedByConfig matches Qdrant's strict-mode refusals, which it
// sends as bad requests: a filter on a field without an index, a limit,
// timeout, beam or batch over the collection's maximum.
func qdrantRefusedByConfig(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "strict mode") || strings.Contains(msg, "index required") || strings.Contains(msg, "limit exceeded")
}
