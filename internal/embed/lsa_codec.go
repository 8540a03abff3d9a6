package embed

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"

	"mediarec"
)

// The binary layout of a fitted LSA, all integers little-endian:
//
//	magic "mrlsa" | format uint16 | analyzer uint16 | dim, k, terms uint32
//	terms × (uvarint length, UTF-8 bytes)
//	terms × idf float32 | terms×k weights float32 | k centroid float32
//
// The layout is canonical (one encoding per model), so the model name can be
// a hash of the bytes and every process that loads them agrees on it.
const (
	lsaMagic  = "mrlsa"
	lsaFormat = 1
	// maxLSADim bounds what UnmarshalLSA allocates from a header.
	maxLSADim = 1 << 16
)

// MarshalBinary encodes the model for storage; UnmarshalLSA reads it back
// exactly, with the same name and the same vectors.
func (m *LSA) MarshalBinary() ([]byte, error) {
	size := len(lsaMagic) + 16 + 4*(len(m.idf)+len(m.weights)+len(m.centroid))
	for _, t := range m.terms {
		size += binary.MaxVarintLen32 + len(t)
	}
	b := make([]byte, 0, size)
	b = append(b, lsaMagic...)
	b = binary.LittleEndian.AppendUint16(b, lsaFormat)
	b = binary.LittleEndian.AppendUint16(b, analyzerVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(m.dim))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.k))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.terms)))
	for _, t := range m.terms {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	for _, xs := range [][]float32{m.idf, m.weights, m.centroid} {
		for _, x := range xs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b, nil
}

// UnmarshalLSA decodes a model written by MarshalBinary. Errors: EINVALID
// when data is not such a model, is truncated, or was fitted with another
// analyzer version (refit the catalog then).
func UnmarshalLSA(data []byte) (*LSA, error) {
	m, err := decodeLSA(data)
	if err != nil {
		return nil, &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid LSA model: " + err.Error() + "."}
	}
	if err := m.name(); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeLSA(data []byte) (*LSA, error) {
	r := bytes.NewReader(data)
	magic := make([]byte, len(lsaMagic))
	if _, err := r.Read(magic); err != nil || string(magic) != lsaMagic {
		return nil, fmt.Errorf("not an LSA model")
	}
	var hdr struct {
		Format, Analyzer uint16
		Dim, K, Terms    uint32
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return nil, fmt.Errorf("truncated header")
	}
	switch {
	case hdr.Format != lsaFormat:
		return nil, fmt.Errorf("format %d, want %d", hdr.Format, lsaFormat)
	case hdr.Analyzer != analyzerVersion:
		return nil, fmt.Errorf("fitted with analyzer %d, this build has %d", hdr.Analyzer, analyzerVersion)
	case hdr.Dim < 1 || hdr.Dim > maxLSADim || hdr.K < 1 || hdr.K > hdr.Dim:
		return nil, fmt.Errorf("dimensions %d of %d out of range", hdr.K, hdr.Dim)
	case uint64(hdr.Terms)*uint64(hdr.K+2) > uint64(r.Len()):
		return nil, fmt.Errorf("%d terms do not fit in %d bytes", hdr.Terms, r.Len())
	}
	m := &LSA{dim: int(hdr.Dim), k: int(hdr.K), terms: make([]string, hdr.Terms), vocab: make(map[string]int32, hdr.Terms)}
	for i := range m.terms {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return nil, fmt.Errorf("truncated term %d", i)
		}
		t := make([]byte, n)
		r.Read(t)
		m.terms[i] = string(t)
		if _, dup := m.vocab[m.terms[i]]; dup {
			return nil, fmt.Errorf("term %q twice", t)
		}
		m.vocab[m.terms[i]] = int32(i)
	}
	if want := 4 * (len(m.terms)*(1+m.k) + m.k); r.Len() != want {
		return nil, fmt.Errorf("%d bytes of weights, want %d", r.Len(), want)
	}
	floats := make([]float32, len(m.terms)*(1+m.k)+m.k)
	if err := binary.Read(r, binary.LittleEndian, floats); err != nil {
		return nil, fmt.Errorf("truncated weights")
	}
	for _, x := range floats {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("weights not finite")
		}
	}
	m.idf, m.weights, m.centroid = floats[:len(m.terms)], floats[len(m.terms):len(floats)-m.k], floats[len(floats)-m.k:]
	return m, nil
}

// name sets the model name from the model's bytes.
func (m *LSA) name() error {
	b, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("name LSA model: %w", err)
	}
	sum := sha256.Sum256(b)
	m.model = "lsa-" + hex.EncodeToString(sum[:4])
	return nil
}
