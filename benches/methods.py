#!/usr/bin/env python3
"""Benchmark of segment_choose_k and of each clustering method against scikit-learn's same
algorithm on the same rows, measured in the same run (run by benches/run.sh after fit_assign.py,
which creates the bench_customers table: 8 float8 features, 8 Gaussian blobs).

  choose_k  segment_choose_k(k = 2..10) on every row, against export (binary COPY -> numpy) +
            StandardScaler + for each k: KMeans(same n_init, max_iter, tol), silhouette_score on a
            seeded sample of 10,000 rows (our default customer_segment.silhouette_sample),
            calinski_harabasz_score, davies_bouldin_score.
  gmm       segment_fit(method gmm, k = 8, n_init 1) on the first METHOD_ROWS rows, against
            GaussianMixture(8, full covariance, n_init 1, same tol and max_iter) on the exported,
            scaled array.
  ward      segment_fit(method hierarchical, k = 8) on the first SAMPLE_ROWS rows (the default
            sample size, so no sampling) against AgglomerativeClustering(8, linkage="ward").
  minibatch segment_fit(method minibatch_kmeans, k = 8, batch_size 1024, 5 epochs, 3 starts on
            its 10,000-row sample) on every row, against MiniBatchKMeans(8, batch_size=1024,
            max_iter=5, n_init=3) on the exported, scaled array.
  dbscan    segment_fit(method dbscan, eps 1.5, min_points 5) on the first SAMPLE_ROWS rows
            against DBSCAN(eps=1.5, min_samples=5).
Our side includes reading the rows, scaling, assigning every row and the profile and silhouette;
scikit-learn's side is the fit alone on an in-memory array (plus the metrics for choose_k), so
the ratios lean against us. Times are medians of REPEAT runs (choose_k: one run each).
"""
import os
import statistics
import sys
import time

import numpy as np
import psycopg
import sklearn
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from fit_assign import make_table

DSN = os.environ["BENCH_DSN"]
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
N_INIT = int(os.environ.get("BENCH_N_INIT", 10))
METHOD_ROWS = int(os.environ.get("BENCH_METHOD_ROWS", 100_000))
SAMPLE_ROWS = 5000
MAX_ITER, TOL = 300, 1e-4
FEATURES = [f"f{i}" for i in range(1, 9)]
ARRAY = "ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "]"


def timed(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def export(cur, relation):
    dtype = [("n", ">i2")] + sum(([(f"l{i}", ">i4"), (f, ">f8")] for i, f in enumerate(FEATURES)), [])
    buf = bytearray()
    with cur.copy(f"COPY (SELECT {', '.join(FEATURES)} FROM {relation}) TO STDOUT (FORMAT binary)") as cp:
        for block in cp:
            buf += block
    rec = np.frombuffer(memoryview(buf)[19:-2], dtype=dtype)
    return np.column_stack([rec[f].astype(np.float64) for f in FEATURES])


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    make_table(conn)  # the same table as fit_assign.py (kept when it has BENCH_ROWS rows)
    cur = conn.cursor()
    rows = cur.execute("SELECT count(*) FROM bench_customers").fetchone()[0]
    for n in (METHOD_ROWS, SAMPLE_ROWS):
        cur.execute(f"DROP TABLE IF EXISTS bench_{n}")
        cur.execute(f"CREATE TABLE bench_{n} AS SELECT * FROM bench_customers ORDER BY customer_id LIMIT {n}")
    print(f"rows={rows} method_rows={METHOD_ROWS} sample_rows={SAMPLE_ROWS} n_init={N_INIT} repeat={REPEAT}")
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, cpus={os.cpu_count()}")
    print()

    # choose_k over k = 2..10 on every row.
    options = f'{{"n_init": {N_INIT}, "max_iter": {MAX_ITER}, "tol": {TOL}}}'
    ours = timed(lambda: cur.execute(
        f"SELECT * FROM segment_choose_k('bench_customers', {ARRAY}, 2, 10, options => '{options}')").fetchall(), 1)
    t0 = time.perf_counter()
    x = StandardScaler().fit_transform(export(cur, "bench_customers"))
    t_export = time.perf_counter() - t0
    t0 = time.perf_counter()
    rng = np.random.RandomState(0)
    for k in range(2, 11):
        labels = KMeans(n_clusters=k, n_init=N_INIT, max_iter=MAX_ITER, tol=TOL, random_state=0).fit_predict(x)
        silhouette_score(x, labels, sample_size=min(10_000, len(x)), random_state=rng)
        calinski_harabasz_score(x, labels)
        davies_bouldin_score(x, labels)
    t_sklearn = time.perf_counter() - t0
    print(f"{'choose_k segment_choose_k(2..10)':44s} {ours:8.3f} s")
    print(f"{'         export + scale':44s} {t_export:8.3f} s")
    print(f"{'         scikit-learn KMeans + 3 scores x 9':44s} {t_sklearn:8.3f} s")
    print(f"choose_k / (export + sklearn)  = {ours / (t_export + t_sklearn):.2f}   (issue 6 target <= 0.5)")
    print()

    def method(label, relation, k, opts, sk_fit):
        k_sql = "NULL" if k is None else str(k)
        ours = timed(lambda: cur.execute(
            f"SELECT * FROM segment_fit('{relation}', {ARRAY}, {k_sql}, name => 'bench_{label}', "
            f"options => '{opts}')").fetchall())
        xs = StandardScaler().fit_transform(export(cur, relation))
        theirs = timed(lambda: sk_fit(xs))
        print(f"{label:9s} segment_fit {ours:8.3f} s   scikit-learn {theirs:8.3f} s   ratio {ours / theirs:.2f}")
        return ours, theirs

    method("gmm", f"bench_{METHOD_ROWS}", 8, f'{{"method": "gmm", "n_init": 1, "max_iter": {MAX_ITER}, "tol": 1e-3}}',
           lambda xs: GaussianMixture(8, covariance_type="full", n_init=1, max_iter=MAX_ITER, tol=1e-3,
                                      random_state=0).fit(xs))
    method("ward", f"bench_{SAMPLE_ROWS}", 8, '{"method": "hierarchical"}',
           lambda xs: AgglomerativeClustering(8, linkage="ward").fit(xs))
    mb_ours, mb_theirs = method("minibatch", "bench_customers", 8,
           '{"method": "minibatch_kmeans", "batch_size": 1024, "epochs": 5, "n_init": 3, "tol": 0.0001}',
           lambda xs: MiniBatchKMeans(8, batch_size=1024, max_iter=5, n_init=3, tol=1e-4,
                                      random_state=0).fit(xs))
    print(f"          (scikit-learn stops after a few batches without improvement; with the export of "
          f"the same rows, measured above: ratio {mb_ours / (t_export + mb_theirs):.2f})")
    method("dbscan", f"bench_{SAMPLE_ROWS}", None, '{"method": "dbscan", "eps": 1.5, "min_points": 5}',
           lambda xs: DBSCAN(eps=1.5, min_samples=5).fit(xs))


if __name__ == "__main__":
    sys.exit(main())
