package vectordb

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"mediarec"
)

// A snapshot is the magic string, a header record, one record per graph slot
// and a CRC-32 of everything before it. Records are length-prefixed (uvarint)
// so the same decoder reads them as log bodies.
//
//	header: dim, M, M0, slots, entry, maxLevel+1, covered log generation,
//	        then, absent in older snapshots: metric (1 for the inner
//	        product, 0 for the cosine), the measured beam widths
//	        unfiltered and filtered and the live points they were
//	        measured at (0 when not measured), 1 for a collection
//	        without a graph (scan)
//	slot:   state; unless free: level, vector, per layer the neighbour
//	        count and ids; if live: item id and payload
//
// Tombstones are kept with their links because other nodes still route
// through them until the next repair.

var errLocalCorrupt = errors.New("corrupt snapshot")

// writeSnapshot encodes the collection; the caller holds writeMu, so nothing
// changes underneath while searches go on.
func (c *localCollection) writeSnapshot(w io.Writer, gen uint64) error {
	h := c.g
	sum := crc32.NewIEEE()
	out := io.MultiWriter(w, sum)
	var b []byte
	record := func() error {
		var head [binary.MaxVarintLen64]byte
		if _, err := out.Write(binary.AppendUvarint(head[:0], uint64(len(b)))); err != nil {
			return err
		}
		_, err := out.Write(b)
		return err
	}
	if _, err := io.WriteString(out, localMagic); err != nil {
		return err
	}
	b = nil
	metric := uint64(0)
	if c.dot {
		metric = 1
	}
	scan := uint64(0)
	if c.scan {
		scan = 1
	}
	c.mu.RLock()
	ef, efFiltered := c.ef, c.efFiltered
	c.mu.RUnlock()
	for _, v := range []uint64{uint64(c.dim), hnswM, hnswM0, uint64(h.len()), uint64(h.entry), uint64(h.maxLevel + 1), gen,
		metric, uint64(ef), uint64(efFiltered), uint64(c.efLive), scan} {
		b = binary.AppendUvarint(b, v)
	}
	if err := record(); err != nil {
		return err
	}
	for n := range h.len() {
		node := uint32(n)
		b = append(b[:0], h.state[node])
		if h.state[node] != hnswFree {
			b = append(b, h.levels[node])
			b = localAppendFloats(b, h.vec(node))
			for l := range int(h.levels[node]) + 1 {
				links := h.links(node, l)
				b = binary.AppendUvarint(b, uint64(len(links)))
				for _, nb := range links {
					b = binary.LittleEndian.AppendUint32(b, nb)
				}
			}
			if h.state[node] == hnswLive {
				b = binary.AppendVarint(b, c.ids[node])
				b = localAppendPayload(b, c.payloads[node])
			}
		}
		if err := record(); err != nil {
			return err
		}
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, sum.Sum32()))
	return err
}

// localReadSnapshot loads a collection from its snapshot and returns the log
// generation the snapshot covers.
func localReadSnapshot(path, name, dir string) (*localCollection, uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open snapshot of %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("open snapshot of %s: %w", name, err)
	}
	sum := crc32.NewIEEE()
	r := &localSnapReader{r: bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, st.Size()-4), sum), 1<<20)}
	c, gen := r.collection(name, dir)
	if r.err == nil {
		if _, err := r.r.ReadByte(); err != io.EOF { // trailing bytes
			r.err = errLocalCorrupt
		}
	}
	if r.err == nil {
		tail := make([]byte, 4)
		if _, err := f.ReadAt(tail, st.Size()-4); err != nil || binary.LittleEndian.Uint32(tail) != sum.Sum32() {
			r.err = errLocalCorrupt
		}
	}
	if r.err != nil {
		return nil, 0, fmt.Errorf("read snapshot of %s: %w", name, r.err)
	}
	return c, gen, nil
}

type localSnapReader struct {
	r         *bufio.Reader
	buf       []byte
	err       error
	versioned bool // payloads carry a version (not in localMagicV1)
}

// record returns the next record as a decoder, or an empty one after an error.
func (r *localSnapReader) record() localDecoder {
	if r.err != nil {
		return localDecoder{err: r.err}
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil || n > localMaxBody {
		r.err = errLocalCorrupt
		return localDecoder{err: r.err}
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		r.err = errLocalCorrupt
		return localDecoder{err: r.err}
	}
	return localDecoder{b: r.buf}
}

// done records a decoder's verdict on a fully read record.
func (r *localSnapReader) done(d *localDecoder) bool {
	if r.err == nil && (d.err != nil || len(d.b) != 0) {
		r.err = errLocalCorrupt
	}
	return r.err == nil
}

func (r *localSnapReader) collection(name, dir string) (*localCollection, uint64) {
	magic := make([]byte, len(localMagic))
	if _, err := io.ReadFull(r.r, magic); err != nil || string(magic) != localMagic && string(magic) != localMagicV1 {
		r.err = errLocalCorrupt
		return nil, 0
	}
	r.versioned = string(magic) == localMagic
	d := r.record()
	var head [7]uint64
	for i := range head {
		head[i] = d.uvarint()
	}
	dim, m, m0, slots, entry, levels, gen := head[0], head[1], head[2], head[3], head[4], head[5], head[6]
	var tail [5]uint64 // metric, ef, efFiltered, efLive, scan
	for i := range tail {
		if len(d.b) > 0 {
			tail[i] = d.uvarint()
		}
	}
	metric := tail[0]
	if !r.done(&d) || metric > 1 || tail[1] > 1<<20 || tail[2] > 1<<20 || tail[3] > slots || tail[4] > 1 {
		r.err = cmp.Or(r.err, errLocalCorrupt)
		return nil, 0
	}
	if m != hnswM || m0 != hnswM0 {
		r.err = fmt.Errorf("snapshot built with M=%d, M0=%d; this build uses %d, %d", m, m0, hnswM, hnswM0)
		return nil, 0
	}
	if dim == 0 || dim > localMaxDim || slots > 1<<32-1 || levels > hnswMaxLevel+1 || (levels > 0 && entry >= slots) {
		r.err = errLocalCorrupt
		return nil, 0
	}
	c := newLocalCollection(name, dir, int(dim), localKind{dot: metric == 1, scan: tail[4] == 1})
	// The beams measured before the snapshot serve until the collection
	// grows by a quarter again: measuring on every open cost a minute at
	// 1M points.
	c.ef, c.efFiltered, c.efLive = int(tail[1]), int(tail[2]), int(tail[3])
	h, n := c.g, int(slots)
	h.vecs = make([]float32, n*int(dim))
	h.links0 = make([]uint32, n*(hnswM0+1))
	h.upper = make([][]uint32, n)
	h.levels = make([]uint8, n)
	h.state = make([]uint8, n)
	h.entry, h.maxLevel = uint32(entry), int(levels)-1
	c.ids = make([]int64, n)
	c.payloads = make([]mediarec.VectorPayload, n)
	c.types = make([]uint8, n)
	c.typePos = make([]uint32, n)
	for i := range n {
		if !r.slot(c, uint32(i)) {
			return nil, 0
		}
	}
	return c, gen
}

// slot reads one node record into the graph and the collection.
func (r *localSnapReader) slot(c *localCollection, node uint32) bool {
	h := c.g
	d := r.record()
	state := d.byte()
	h.state[node] = state
	switch state {
	case hnswFree:
		h.free = append(h.free, node)
		return r.done(&d)
	case hnswLive, hnswTombstone:
	default:
		d.fail()
		return r.done(&d)
	}
	level := int(d.byte())
	if level > hnswMaxLevel {
		d.fail()
		return r.done(&d)
	}
	h.levels[node] = uint8(level)
	if level > 0 {
		h.upper[node] = make([]uint32, level*(hnswM+1))
	}
	d.floats(h.vec(node))
	var links [hnswM0]uint32
	for l := range level + 1 {
		cnt := d.count(4)
		if cnt > hnswMaxLinks(l) {
			d.fail()
			return r.done(&d)
		}
		for i := range cnt {
			if links[i] = d.uint32(); int(links[i]) >= h.len() {
				d.fail()
				return r.done(&d)
			}
		}
		h.setLinks(node, l, links[:cnt])
	}
	if state == hnswTombstone {
		h.tombstones++
		return r.done(&d)
	}
	id := d.varint()
	p := d.payload(r.versioned)
	_, known := c.typeCodes[p.Type]
	if _, dup := c.byID[id]; dup || d.err != nil || (!known && len(c.typeNames) == 256) {
		d.fail()
		return r.done(&d)
	}
	c.bind(node, id, p)
	return r.done(&d)
}
