package vectorsync

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"mediarec"
)

// The log's subjects, under the prefix:
//
//	<prefix>.<collection>.meta    {"dimensions":N}, or {"deleted":true}
//	<prefix>.<collection>.p.<id>  a point (encodePoint); empty: deleted
//	<prefix>._alias.<alias>       the target collection; empty: deleted
//
// Collection names never start with '_', so "_alias" is no collection, and
// every meta and alias subject has one token less than a point's: a
// follower of the metadata alone never receives a point.
const (
	aliasToken = "_alias"
	metaToken  = "meta"
	pointToken = "p"
)

// maxDimensions matches the in-process index's bound.
const maxDimensions = 65536

func metaSubject(prefix, coll string) string { return prefix + "." + coll + "." + metaToken }

func pointSubject(prefix, coll string, id int64) string {
	return prefix + "." + coll + "." + pointToken + "." + strconv.FormatInt(id, 10)
}

func aliasSubject(prefix, alias string) string { return prefix + "." + aliasToken + "." + alias }

// collectionSubjects matches everything the log holds of a collection.
func collectionSubjects(prefix, coll string) string { return prefix + "." + coll + ".>" }

// subjectKind tells what a log subject carries.
type subjectKind int

const (
	kindMeta subjectKind = iota + 1
	kindPoint
	kindAlias
)

// logSubject is a parsed subject: name is the collection, or the alias.
type logSubject struct {
	kind subjectKind
	name string
	id   int64
}

func parseSubject(prefix, subject string) (logSubject, error) {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return logSubject{}, fmt.Errorf("subject %q is not under %s", subject, prefix)
	}
	tokens := strings.Split(rest, ".")
	switch {
	case len(tokens) == 2 && tokens[0] == aliasToken:
		return logSubject{kind: kindAlias, name: tokens[1]}, nil
	case len(tokens) == 2 && tokens[1] == metaToken:
		return logSubject{kind: kindMeta, name: tokens[0]}, nil
	case len(tokens) == 3 && tokens[1] == pointToken:
		id, err := strconv.ParseInt(tokens[2], 10, 64)
		if err != nil {
			return logSubject{}, fmt.Errorf("subject %q: point id: %w", subject, err)
		}
		return logSubject{kind: kindPoint, name: tokens[0], id: id}, nil
	}
	return logSubject{}, fmt.Errorf("subject %q is not a vector log subject", subject)
}

// checkName accepts the names our callers make ([a-z0-9_]), each of which
// is one subject token. A collection name may not start with '_': those
// tokens are the log's own.
func checkName(what, name string, collection bool) error {
	ok := name != "" && len(name) <= 128 && !(collection && name[0] == '_') &&
		!strings.ContainsFunc(name, func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_') })
	if !ok {
		if collection {
			return mediarec.Errorf(mediarec.EINVALID, "%s %q must be 1 to 128 lower-case letters, digits or '_', not starting with '_'.", what, name)
		}
		return mediarec.Errorf(mediarec.EINVALID, "%s %q must be 1 to 128 lower-case letters, digits or '_'.", what, name)
	}
	return nil
}

// meta is the data of a collection's meta subject.
type meta struct {
	Dimensions int  `json:"dimensions,omitempty"`
	Scan       bool `json:"scan,omitempty"` // see vectordb.Local.CreateScanCollection
	Deleted    bool `json:"deleted,omitempty"`
}

func decodeMeta(data []byte) (meta, error) {
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return meta{}, fmt.Errorf("meta: %w", err)
	}
	if !m.Deleted && (m.Dimensions < 1 || m.Dimensions > maxDimensions) {
		return meta{}, fmt.Errorf("meta: %d dimensions", m.Dimensions)
	}
	return m, nil
}

// encodePoint writes the vector's length (uvarint), the vector as
// little-endian float32s, then the payload's JSON: a 256-d point takes
// about 1 KiB where JSON numbers would take three.
func encodePoint(p mediarec.VectorPoint) ([]byte, error) {
	payload, err := json.Marshal(p.Payload)
	if err != nil {
		return nil, fmt.Errorf("encode point %d: %w", p.ID, err)
	}
	buf := make([]byte, 0, binary.MaxVarintLen64+4*len(p.Vector)+len(payload))
	buf = binary.AppendUvarint(buf, uint64(len(p.Vector)))
	for _, x := range p.Vector {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	return append(buf, payload...), nil
}

func decodePoint(id int64, data []byte) (mediarec.VectorPoint, error) {
	n, size := binary.Uvarint(data)
	if size <= 0 || n == 0 || n > uint64(len(data)-size)/4 {
		return mediarec.VectorPoint{}, errors.New("point: bad vector length")
	}
	data = data[size:]
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	p := mediarec.VectorPoint{ID: id, Vector: v}
	if err := json.Unmarshal(data[4*n:], &p.Payload); err != nil {
		return mediarec.VectorPoint{}, fmt.Errorf("point payload: %w", err)
	}
	return p, nil
}

// checkVector is the in-process index's rule, applied before publishing:
// a point the followers would refuse must not reach the log.
func checkVector(p mediarec.VectorPoint, dim int) error {
	if len(p.Vector) != dim {
		return mediarec.Errorf(mediarec.EINVALID, "Point %d: vector has %d dimensions, the collection %d.", p.ID, len(p.Vector), dim)
	}
	var sum float64
	for _, x := range p.Vector {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.IsInf(sum, 0) || math.IsNaN(sum) {
		return mediarec.Errorf(mediarec.EINVALID, "Point %d: vector must be finite and non-zero.", p.ID)
	}
	return nil
}
