#!/usr/bin/env python3
"""Benchmark of keeping segments up to date, in one run (run by benches/run.sh): a warm refit
against a cold one, and an incremental update against a full refit and against scikit-learn's
MiniBatchKMeans.partial_fit.

Synthetic customers: ADAPT_ROWS (default 1,000,000) known at the first fit, and a month of new
ones, ADAPT_ROWS / 12, whose segments mix differently and sit 0.2 standard deviations off (the
customers drift). Six features in 8 segments, already standardized by the known customers'
means and deviations, fitted with scale none so that every model here measures distances in
the same units. k = 8, seed 0.
  cold refit:    segment_fit(known + new, k = 8), 10 k-means++ starts (the default)
  cold, 1 start: the same with n_init 1
  warm refit:    segment_fit(known + new, {"warm_start": true}) from the first fit
  update:        segment_update(model, new rows) from the first fit (reads the new rows only)
  partial_fit:   scikit-learn's MiniBatchKMeans.partial_fit on the new rows as a numpy array,
                 from the first fit's centres and sizes (the same rule; the array in memory,
                 not read from a table)
Each is timed REPEAT times (medians) on its own copy of the first fit, and the inertia of every
row (known + new) under the centres it gives is read with segment_evaluate: the update's
against the cold refit's is what incremental updating costs in quality. Only ratios compare
between machines.
"""
import os
import statistics
import sys
import time

import numpy as np
import psycopg

from support import measured

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("ADAPT_ROWS", 1_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
K, D = 8, 6
FEATURES = "ARRAY[" + ", ".join(f"'f{j}'" for j in range(D)) + "]"


def make(cur):
    """bench_known and bench_new (kept between runs when their sizes match)."""
    new_rows = ROWS // 12
    have = cur.execute("SELECT count(*) FROM pg_class WHERE relname IN ('bench_known', 'bench_new')").fetchone()[0]
    if have == 2 and cur.execute("SELECT count(*) FROM bench_known").fetchone()[0] == ROWS:
        return
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 2.0, (K, D))
    mix_known = rng.dirichlet(np.full(K, 5.0))
    mix_new = rng.dirichlet(np.full(K, 5.0))
    for table, n, mix, shift in (("bench_known", ROWS, mix_known, 0.0), ("bench_new", new_rows, mix_new, 0.2)):
        seg = rng.choice(K, n, p=mix)
        x = centres[seg] + rng.normal(0, 1.0, (n, D)) + shift
        cur.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        cur.execute(f"CREATE TABLE {table} (" + ", ".join(f"f{j} float8" for j in range(D)) + ")")
        with cur.copy(f"COPY {table} FROM STDIN") as cp:
            for start in range(0, n, 100_000):
                cp.write("".join("\t".join(repr(float(v)) for v in row) + "\n" for row in x[start:start + 100_000]))
        cur.execute(f"VACUUM ANALYZE {table}")
    cur.execute("CREATE VIEW bench_all AS SELECT * FROM bench_known UNION ALL SELECT * FROM bench_new")


def fit(cur, name, source, options):
    cur.execute("SELECT segment_drop(%s) FROM segment_models WHERE name = %s LIMIT 1", (name, name))
    return cur.execute(
        f"SELECT iterations, inertia FROM segment_fit('{source}', {FEATURES}, {K}, name => %s, "
        f"options => %s::jsonb)", (name, options)).fetchone()


def inertia_all(cur, name):
    return cur.execute("SELECT inertia FROM segment_evaluate(%s, 'bench_all')", (name,)).fetchone()[0]


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    cur = conn.cursor()
    cur.execute("SET customer_segment.progress = off")
    make(cur)
    base = '{"scale": "none", "seed": 0}'
    results = {"cold": [], "cold_1": [], "warm": [], "update": []}
    iterations, inertia = {}, {}
    for r in range(REPEAT):
        # Each timed call starts from a fresh copy of the first fit.
        for what, sql in (
            ("cold", f"SELECT iterations FROM segment_fit('bench_all', {FEATURES}, {K}, name => 'adapt_cold', options => '{base}')"),
            ("cold_1", f"SELECT iterations FROM segment_fit('bench_all', {FEATURES}, {K}, name => 'adapt_cold1', options => '{{\"scale\": \"none\", \"seed\": 0, \"n_init\": 1}}')"),
            ("warm", f"SELECT iterations FROM segment_fit('bench_all', {FEATURES}, {K}, name => 'adapt_warm', options => '{{\"scale\": \"none\", \"seed\": 0, \"warm_start\": true}}')"),
            ("update", "SELECT count(*) FROM segment_update('adapt_update', 'bench_new')"),
        ):
            name = {"cold": "adapt_cold", "cold_1": "adapt_cold1", "warm": "adapt_warm", "update": "adapt_update"}[what]
            cur.execute("SELECT segment_drop(%s) FROM segment_models WHERE name = %s LIMIT 1", (name, name))
            if what in ("warm", "update"):
                fit(cur, name, "bench_known", base)
            seconds, row, _ = measured(DSN, sql)
            if isinstance(row, Exception):
                raise row
            results[what].append(seconds)
            iterations[what] = row[0] if what != "update" else 1
            inertia[what] = inertia_all(cur, name)
    # The peer: partial_fit from the first fit's state, on the new rows in memory.
    from sklearn.cluster import MiniBatchKMeans
    cur.execute("SELECT segment_drop('adapt_peer') FROM segment_models WHERE name = 'adapt_peer' LIMIT 1")
    fit(cur, "adapt_peer", "bench_known", base)
    centres = np.array([[0.0] * D for _ in range(K)])
    for s, feature, value in cur.execute("SELECT segment, feature, value FROM segment_centroids('adapt_peer')"):
        centres[s, int(feature[1:])] = value
    sizes = np.array([r[0] for r in cur.execute(
        "SELECT size FROM segment_profile('adapt_peer') GROUP BY segment, size ORDER BY segment")], dtype=float)
    new = np.array(cur.execute("SELECT " + ", ".join(f"f{j}" for j in range(D)) + " FROM bench_new").fetchall())
    peer = []
    for _ in range(REPEAT):
        mb = MiniBatchKMeans(n_clusters=K, reassignment_ratio=0.0, n_init=1, random_state=0)
        mb.partial_fit(new[:K])
        mb.cluster_centers_, mb._counts, mb._n_since_last_reassign = centres.copy(), sizes.copy(), 0
        t0 = time.perf_counter()
        mb.partial_fit(new)
        peer.append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in results.items()}
    peer = statistics.median(peer)
    print(f"rows known={ROWS} new={ROWS // 12} features={D} k={K} repeat={REPEAT} (medians)")
    for what, label in (("cold", "cold refit, 10 starts"), ("cold_1", "cold refit, 1 start"),
                        ("warm", "warm refit"), ("update", "segment_update (new rows)")):
        print(f"{label:32s} {med[what]:8.3f} s  iterations {iterations[what]!s:>4}  inertia of every row {inertia[what]:.1f}")
    print(f"{'partial_fit (numpy array)':32s} {peer:8.3f} s")
    print(f"warm / cold refit time = {med['warm'] / med['cold']:.3f}; warm / cold 1-start = {med['warm'] / med['cold_1']:.3f}")
    print(f"warm / cold inertia = {inertia['warm'] / inertia['cold']:.4f}")
    print(f"update / cold refit time = {med['update'] / med['cold']:.3f}")
    print(f"update / cold refit inertia = {inertia['update'] / inertia['cold']:.4f}")
    print(f"update / partial_fit time = {med['update'] / peer:.2f} (ours reads the rows from a table)")


if __name__ == "__main__":
    sys.exit(main())
