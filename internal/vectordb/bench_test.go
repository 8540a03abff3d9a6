package vectordb_test

import (
	"bufio"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/vectordb"
)

// The ANN benchmark, on three sets of realistic vectors (annsets_test.go):
// lowrank (a 32-d latent space in 256-d plus noise), catalog (LSA vectors of
// the real catalogs, grown with mixed texts) and hybrid (the recommender's
// inner-product index, real users' profiles as queries):
//
//	go test -run '^$' -bench 'ANN100k' -benchtime 1x -timeout 2h ./internal/vectordb/
//	MEDIAREC_BENCH_1M=1 go test -run '^$' -bench 'ANN1M' -benchtime 1x -timeout 4h ./internal/vectordb/
//
// MEDIAREC_ANN_EFC sets the beam of the inserts (efConstruction, 200 by
// default) for weighing build time against recall.
//
// With MEDIAREC_ANN_DIR set, each set is kept in <dir>/<set>-<n>: the
// built store (reopened by the next run instead of rebuilt), the queries and
// the exact top-10, and for scripts/ann/hnswlib_bench.py the vectors
// (base.fvecs), the unfiltered queries (queries_<kind>.fvecs), their exact
// top-10 by row (truth_<kind>.ivecs) and our sweep (ours.json). With
// MEDIAREC_ANN_HNSWLIB naming a Python (Debian: /usr/bin/python3 with
// python3-hnswlib installed), the script runs on the set right after our
// sweep, so that both are timed under the same load.
//
// Metrics: recall_<kind> and qps_<kind> at the collection's calibrated
// beam, queries per CPU second on one core (GOMAXPROCS 1) through
// Local.Search;
// ef is that beam; bytes/vector is the heap the reopened store holds;
// build_s is the bulk load through Upsert (batches of 1,000, every core),
// reported when the run built the store. The log lists the ef sweep of each
// kind; those of the unfiltered kinds are the figures set beside hnswlib's.

const annK = 10

// annSweep are the beam widths of the side-by-side sweep, the same as the
// hnswlib script's.
var annSweep = []int{10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384}

func BenchmarkANN100k(b *testing.B) { benchANN(b, 100_000) }

func BenchmarkANN1M(b *testing.B) {
	if os.Getenv("MEDIAREC_BENCH_1M") != "1" {
		b.Skip("set MEDIAREC_BENCH_1M=1 to build the 1M-vector indexes (10 to 20 minutes each on two cores)")
	}
	benchANN(b, 1_000_000)
}

func benchANN(b *testing.B, n int) {
	for _, name := range []string{"lowrank", "catalog", "hybrid"} {
		b.Run(name, func(b *testing.B) { benchANNSet(b, name, n) })
	}
}

// annFiles is what a run keeps of a set: the queries and their exact
// top-10 (ids are rows).
type annFiles struct {
	Dot     bool
	Dim     int
	Queries map[string][]annStoredQuery
	Truth   map[string][][]int64
	BuildS  float64
}

type annStoredQuery struct {
	Vec     []float32
	Types   []mediarec.ItemType
	Exclude []int64
}

func benchANNSet(b *testing.B, name string, n int) {
	const nq = 500
	dir := b.TempDir()
	suffix := ""
	if efc, _ := strconv.Atoi(os.Getenv("MEDIAREC_ANN_EFC")); efc > 0 {
		vectordb.SetEfConstructionForTest(efc)
		suffix = "-efc" + itoa(efc)
	}
	if root := os.Getenv("MEDIAREC_ANN_DIR"); root != "" {
		dir = filepath.Join(root, name+"-"+itoa(n)+suffix)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	storeDir := filepath.Join(dir, "store")
	meta := filepath.Join(dir, "set.gob")
	var files annFiles
	if err := annReadGob(meta, &files); err != nil {
		files = annBuild(b, name, n, nq, storeDir, dir)
		if err := annWriteGob(meta, files); err != nil {
			b.Fatal(err)
		}
	}

	var before, after runtime.MemStats
	// Twice: the first collection only moves the pools' contents to their
	// victim caches, which a build in this process filled.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	s, err := vectordb.OpenLocal(storeDir)
	if err != nil {
		b.Fatal(err)
	}
	reopen := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	defer s.Close()

	queries := map[string][]annQuery{}
	for kind, qs := range files.Queries {
		for _, q := range qs {
			queries[kind] = append(queries[kind], annQuery{vec: q.Vec, filter: mediarec.VectorFilter{Types: q.Types, ExcludeIDs: q.Exclude}})
		}
	}
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range queries {
			if !yield(k) {
				return
			}
		}
	})
	if files.Truth == nil {
		files.Truth = map[string][][]int64{}
		for _, kind := range kinds {
			files.Truth[kind] = annTruth(b, s, queries[kind])
			if f := queries[kind][0].filter; len(f.Types) == 0 && len(f.ExcludeIDs) == 0 {
				annWriteVecs(b, filepath.Join(dir, "queries_"+kind+".fvecs"), func(yield func([]float32) bool) {
					for _, q := range queries[kind] {
						if !yield(q.vec) {
							return
						}
					}
				})
				annWriteTruth(b, filepath.Join(dir, "truth_"+kind+".ivecs"), files.Truth[kind])
			}
		}
		if err := annWriteGob(meta, files); err != nil {
			b.Fatal(err)
		}
	}

	procs := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(procs)
	type point struct {
		Ef     int     `json:"ef"`
		Recall float64 `json:"recall"`
		QPS    float64 `json:"qps"`
	}
	sweeps := map[string][]point{}
	for b.Loop() {
		for _, kind := range kinds {
			r, qps := annRun(b, s, queries[kind], files.Truth[kind])
			b.ReportMetric(r, "recall_"+kind)
			b.ReportMetric(qps, "qps_"+kind)
			if r < 0.95 {
				b.Errorf("%s: recall@10 %.3f, want ≥ 0.95", kind, r)
			}
		}
		ef, efFiltered := vectordb.EfSearchForTest(s, "items")
		b.ReportMetric(float64(ef), "ef")
		b.ReportMetric(float64(efFiltered), "ef_filtered")
		for _, kind := range kinds {
			f := queries[kind][0].filter
			for _, ef := range annSweep {
				vectordb.SetEfSearchForTest(s, "items", ef)
				r, qps := annRun(b, s, queries[kind], files.Truth[kind])
				if len(f.Types) == 0 && len(f.ExcludeIDs) == 0 {
					sweeps[kind] = append(sweeps[kind], point{ef, r, qps})
				}
				b.Logf("%s %s ef %d: recall@10 %.4f, %.0f queries/s", name, kind, ef, r, qps)
			}
			vectordb.SetEfSearchForTest(s, "items", 0)
		}
	}
	bytesPerVec := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
	b.ReportMetric(bytesPerVec, "bytes/vector")
	b.ReportMetric(reopen.Seconds(), "reopen_s")
	if files.BuildS > 0 {
		b.ReportMetric(files.BuildS, "build_s")
	}
	out, _ := json.MarshalIndent(map[string]any{"set": name, "n": n, "bytes_per_vector": bytesPerVec, "sweeps": sweeps}, "", " ")
	if err := os.WriteFile(filepath.Join(dir, "ours.json"), out, 0o644); err != nil {
		b.Fatal(err)
	}
	if py := os.Getenv("MEDIAREC_ANN_HNSWLIB"); py != "" {
		runtime.GOMAXPROCS(procs)
		out, err := exec.CommandContext(b.Context(), py, "../../scripts/ann/hnswlib_bench.py", dir).CombinedOutput()
		b.Logf("hnswlib_bench.py:\n%s", out)
		if err != nil {
			b.Fatalf("hnswlib_bench.py: %v", err)
		}
	}
}

// annBuild generates a set, writes its vectors for hnswlib and bulk-loads
// the store.
func annBuild(b *testing.B, name string, n, nq int, storeDir, dir string) annFiles {
	set := annSetByName(b, name, n, nq)
	files := annFiles{Dot: set.dot, Dim: set.dim, Queries: map[string][]annStoredQuery{}}
	for kind, qs := range set.queries {
		for _, q := range qs {
			files.Queries[kind] = append(files.Queries[kind], annStoredQuery{Vec: q.vec, Types: q.filter.Types, Exclude: q.filter.ExcludeIDs})
		}
	}
	annWriteVecs(b, filepath.Join(dir, "base.fvecs"), slices.Values(set.vecs))
	os.RemoveAll(storeDir)
	start := time.Now()
	s, err := vectordb.OpenLocal(storeDir)
	if err != nil {
		b.Fatal(err)
	}
	create := s.CreateCollection
	if set.dot {
		create = s.CreateDotCollection
	}
	if err := create(b.Context(), "items", set.dim); err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < n; lo += 1000 {
		if err := s.Upsert(b.Context(), "items", set.points(lo, min(n, lo+1000))); err != nil {
			b.Fatal(err)
		}
	}
	files.BuildS = time.Since(start).Seconds()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return files
}

// annTruth is the exact top-10 of each query, on every core.
func annTruth(b *testing.B, s *vectordb.Local, qs []annQuery) [][]int64 {
	out := make([][]int64, len(qs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				for _, h := range vectordb.ExactSearchForTest(s, "items", qs[i].vec, annK, qs[i].filter) {
					out[i] = append(out[i], h.ID)
				}
			}
		})
	}
	for i := range qs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// annRun returns the recall@10 of qs and their queries per second, timed
// over repeated passes of at least half a second.
func annRun(b *testing.B, s *vectordb.Local, qs []annQuery, truth [][]int64) (recall, qps float64) {
	found, total := 0, 0
	for i, q := range qs {
		hits, err := s.Search(b.Context(), "items", q.vec, annK, q.filter)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]int64, len(hits))
		for j, h := range hits {
			ids[j] = h.ID
		}
		found += benchOverlap(truth[i], ids)
		total += len(truth[i])
	}
	done := 0
	start, cpu0 := time.Now(), annCPU()
	for time.Since(start) < 500*time.Millisecond {
		for _, q := range qs {
			if _, err := s.Search(b.Context(), "items", q.vec, annK, q.filter); err != nil {
				b.Fatal(err)
			}
		}
		done += len(qs)
	}
	return float64(found) / float64(total), float64(done) / (annCPU() - cpu0).Seconds()
}

// annCPU is the CPU time the process has used. Queries per second are
// counted per CPU second rather than per wall second: the benchmark machine
// is shared, and a query thread that waits for a core would otherwise be
// charged for the wait. With GOMAXPROCS 1 it includes the garbage
// collector's share.
func annCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchOverlap(want, got []int64) int {
	n := 0
	for _, id := range got {
		if slices.Contains(want, id) {
			n++
		}
	}
	return n
}

// annWriteVecs writes the fvecs format of the ANN benchmarks (Jégou et
// al.'s): per vector, its dimension as a little-endian int32, then its
// float32s.
func annWriteVecs(b *testing.B, path string, vecs func(yield func([]float32) bool)) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for v := range vecs {
		binary.Write(w, binary.LittleEndian, int32(len(v)))
		binary.Write(w, binary.LittleEndian, v)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
}

// annWriteTruth writes ivecs: per query, annK, then the rows of its exact
// top-10 (-1 past the end of a shorter list).
func annWriteTruth(b *testing.B, path string, truth [][]int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, t := range truth {
		row := make([]int32, annK+1)
		row[0] = annK
		for i := range annK {
			row[i+1] = -1
			if i < len(t) {
				row[i+1] = int32(t[i])
			}
		}
		binary.Write(w, binary.LittleEndian, row)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
}

func annWriteGob(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	return errors.Join(gob.NewEncoder(w).Encode(v), w.Flush(), f.Close())
}

func annReadGob(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return gob.NewDecoder(bufio.NewReader(f)).Decode(v)
}

func itoa(n int) string {
	switch {
	case n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
