#!/usr/bin/env python3
"""hnswlib on the vectors of the Go ANN benchmark, side by side with ours.

The Go benchmark (internal/vectordb/bench_test.go), run with MEDIAREC_ANN_DIR
set, leaves in <dir>/<set>-<n>/ the indexed vectors (base.fvecs), each
unfiltered query kind (queries_<kind>.fvecs), its exact top-10 by row
(truth_<kind>.ivecs) and our ef sweep (ours.json). This script builds hnswlib
with the same parameters (M 16, efConstruction 200, inner product: cosine sets
are stored unit-length, so it ranks as a cosine), sweeps the same ef values on
one thread, and prints recall@10, queries/s and memory per vector for both,
then queries/s of each at equal recall, interpolated on the sweeps.

It needs numpy and the hnswlib bindings, and installs nothing. On Debian:
    apt-get install -y python3-hnswlib python3-numpy
    /usr/bin/python3 scripts/ann/hnswlib_bench.py /tmp/annbench/lowrank-100k

The built index is saved beside the vectors (hnswlib.bin) and loaded by the
next run.
"""

import json
import math
import os
import sys
import time

import hnswlib
import numpy as np

M, EF_CONSTRUCTION, K = 16, 200, 10
SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384]
RECALLS = [0.90, 0.95, 0.97, 0.99]


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    dim = raw[0]
    rows = raw.reshape(-1, dim + 1)[:, 1:]
    return np.ascontiguousarray(rows.view(dtype))


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_qps(index, queries):
    """Queries per CPU second of the process over passes of at least half a
    wall second, as the Go benchmark counts them: on a shared machine a
    thread waiting for a core is not charged for the wait."""
    done, start, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < 0.5:
        index.knn_query(queries, k=K, num_threads=1)
        done += len(queries)
    return done / (time.process_time() - cpu0)


def recall(labels, truth):
    found = total = 0
    for got, want in zip(labels, truth):
        want = set(int(x) for x in want if x >= 0)
        found += len(want & set(int(x) for x in got))
        total += len(want)
    return found / total


def qps_at(sweep, target):
    """Queries/s at recall target, log-interpolated between the two sweep
    points around it; None when the sweep never reaches it."""
    pts = sorted((p["recall"], p["qps"]) for p in sweep)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1:
            if r1 == r0:
                return max(q0, q1)
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    if pts and pts[0][0] >= target:
        return pts[0][1]
    return None


def main(d):
    base = read_vecs(os.path.join(d, "base.fvecs"), np.float32)
    n, dim = base.shape
    index = hnswlib.Index(space="ip", dim=dim)
    path = os.path.join(d, "hnswlib.bin")
    before = rss_bytes()
    if os.path.exists(path):
        index.load_index(path, max_elements=n)
        build_s = None
    else:
        index.init_index(max_elements=n, M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
        start = time.perf_counter()
        index.add_items(base, np.arange(n), num_threads=os.cpu_count())
        build_s = time.perf_counter() - start
        index.save_index(path)
    # The index's own memory: the vectors array is read from disk apart.
    index_bytes = rss_bytes() - before
    del base

    with open(os.path.join(d, "ours.json")) as f:
        ours = json.load(f)
    print(f"{os.path.basename(d)}: {n} vectors of {dim} floats, one query thread, load {os.getloadavg()[0]:.2f}")
    print(f"memory per vector: hnswlib {index_bytes / n:.0f} B (resident), ours {ours['bytes_per_vector']:.0f} B (heap)")
    if build_s is not None:
        print(f"hnswlib build: {build_s:.0f} s on {os.cpu_count()} threads")
    result = {"set": os.path.basename(d), "hnswlib_bytes_per_vector": index_bytes / n, "kinds": {}}
    for kind, sweep in sorted(ours["sweeps"].items()):
        queries = read_vecs(os.path.join(d, f"queries_{kind}.fvecs"), np.float32)
        truth = read_vecs(os.path.join(d, f"truth_{kind}.ivecs"), np.int32)
        theirs = []
        for ef in SWEEP:
            index.set_ef(max(ef, K))
            labels, _ = index.knn_query(queries, k=K, num_threads=1)
            theirs.append({"ef": ef, "recall": recall(labels, truth), "qps": timed_qps(index, queries)})
        print(f"\n{kind} ({len(queries)} queries)")
        print(f"{'ef':>5} {'recall ours':>12} {'qps ours':>10} {'recall hnswlib':>15} {'qps hnswlib':>12}")
        mine = {p["ef"]: p for p in sweep}
        for p in theirs:
            o = mine.get(p["ef"], {"recall": float("nan"), "qps": float("nan")})
            print(f"{p['ef']:>5} {o['recall']:>12.4f} {o['qps']:>10.0f} {p['recall']:>15.4f} {p['qps']:>12.0f}")
        print("at equal recall:")
        for target in RECALLS:
            a, b = qps_at(sweep, target), qps_at(theirs, target)
            if a and b:
                print(f"  recall {target:.2f}: ours {a:.0f} q/s, hnswlib {b:.0f} q/s, ratio {a / b:.2f}")
            else:
                print(f"  recall {target:.2f}: not reached by {'ours' if not a else 'hnswlib'} within ef {SWEEP[-1]}")
        result["kinds"][kind] = {"hnswlib": theirs, "ours": sweep}
    with open(os.path.join(d, "hnswlib.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: hnswlib_bench.py <dir written by the Go ANN benchmark, e.g. /tmp/annbench/lowrank-100k>")
    main(sys.argv[1])
