#!/usr/bin/env python3
"""100M customers on one machine (issue 30, item 5): how the fits and the assignment grow from 1M to
10M to 100M rows, with their time and peak memory, measured in one run. Not in CI and not in the
default set: `BENCH_ONLY=hundred_million bash benches/run.sh` (about 40 minutes on 2 cores; the
100M table takes about 10 GB on disk, the in-memory fit 6.1 GB of matrix).

  tables   BENCH_HUGE_SIZES (default "1000000 10000000 100000000") rows of fit_assign.py's
           synthetic customers: 8 float8 features, 8 blobs, seeded (the build time is printed)
  fits     k = 8, seed 0, each in a fresh session, customer_segment.max_memory_mb raised to
           BENCH_HUGE_MEMORY_MB (default 16384) so the in-memory fit is allowed:
           - in memory, n_init 10 (the default method)
           - minibatch_kmeans (its defaults: batch 1024, 5 epochs, 3 starts), streams the rows
           - engine aggregate, n_init 1, parallel plans allowed (one scan per Lloyd step: the
             path a Citus table takes, each step's scan running on the shards)
  step     one k-means step as one aggregate query over every row, as engine aggregate runs
           each of its steps (there on the preprocessed features; here the raw ones, whose
           centres are the in-memory model's, segment_centroids): what a Citus shard computes
           per step, SELECT segment_kmeans_step(ARRAY[f1, ..., f8], centres) FROM t
  assign   every row's segment counted by segment:
           SELECT s, count(*) FROM (SELECT segment_assign('m', t) s FROM t t) q GROUP BY s
Memory is the backend's peak private memory (RssAnon, polled every 10 ms) over its value before
the call: the matrix and the model, not the shared buffers a scan touches. Each figure is one
run: the tables are large. Compare ratios (100M / 10M, 10M / 1M), not absolute times.
BENCH_HUGE_PARTS (default "fits step assign") picks what runs: the tables are kept, so that
"step" alone can be measured again without refitting (the step's centres then come from one
in-memory fit on the smallest table: the same blobs, and a step costs the same whatever its
centres).

The last table turns the per-row costs into what a step, a fit and an assignment of 1B rows
would take on a Citus cluster of N workers (see docs/performance.md for how, and what was
measured on Citus itself).
"""
import os
import sys
import time

import psycopg

import support
from fit_assign import make_table

DSN = os.environ["BENCH_DSN"]
SIZES = [int(s) for s in os.environ.get("BENCH_HUGE_SIZES", "1000000 10000000 100000000").split()]
PARTS = os.environ.get("BENCH_HUGE_PARTS", "fits step assign").split()
MEMORY_MB = int(os.environ.get("BENCH_HUGE_MEMORY_MB", 16384))
FEATURES = "ARRAY['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8']"
# what is measured -> (the model's name suffix, the fit's options)
FITS = {
    "in memory, n_init 10": ("memory", '{"n_init": 10, "seed": 0}'),
    "minibatch_kmeans": ("minibatch", '{"method": "minibatch_kmeans", "seed": 0}'),
    "engine aggregate, n_init 1": ("aggregate", '{"engine": "aggregate", "n_init": 1, "seed": 0}'),
}


def measured(sql, settings=()):
    """Runs `sql` in a fresh session: (seconds, every row or the error, peak RssAnon growth MB)."""
    return support.measured(DSN, sql, settings, memory="RssAnon", every_row=True)


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    settings = (f"SET customer_segment.max_memory_mb = {MEMORY_MB}",
                "SET max_parallel_workers_per_gather = 2")
    results = {}  # (rows, what) -> (seconds, result, MB)
    for rows in SIZES:
        table = f"bench_huge_{rows}"
        t0 = time.perf_counter()
        make_table(conn, rows, table)
        build = time.perf_counter() - t0
        size = conn.execute("SELECT pg_total_relation_size(%s::regclass)", (table,)).fetchone()[0]
        print(f"{rows:>11,} rows: table {size / 2**30:.2f} GiB, built (or found) in {build:.1f} s", flush=True)
        fits = FITS if "fits" in PARTS else {}
        if not fits and "assign" in PARTS:
            fits = {k: v for k, v in FITS.items() if v[0] == "memory"}
        for what, (suffix, options) in fits.items():
            name = f"huge_{rows}_{suffix}"
            sql = (f"SELECT method, rows_used, iterations, inertia FROM segment_fit('{table}', {FEATURES}, 8, "
                   f"name => '{name}', options => '{options}')")
            results[rows, what] = measured(sql, settings)
            seconds, result, mb = results[rows, what]
            print(f"    fit {what:28s} {seconds:9.2f} s  peak +{mb:7.0f} MB  {result}", flush=True)
        if "step" in PARTS:
            centres_of = f"huge_{rows}_memory" if fits else "huge_centres"
            if not fits and rows == SIZES[0]:
                conn.execute(f"SELECT segment_fit('{table}', {FEATURES}, 8, name => 'huge_centres', "
                             "options => '{\"seed\": 0}')")
            centres = conn.execute(
                f"SELECT array_agg(value ORDER BY segment, feature_order) FROM segment_centroids('{centres_of}') "
                "JOIN unnest(ARRAY['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8']) WITH ORDINALITY f(feature, feature_order) "
                "USING (feature)").fetchone()[0]
            step = (f"SELECT segment_kmeans_step(ARRAY[f1, f2, f3, f4, f5, f6, f7, f8], "
                    f"'{{{','.join(map(repr, centres))}}}'::float8[])->'rows' FROM {table}")
            results[rows, "step"] = measured(step, settings)
            seconds, result, mb = results[rows, "step"]
            print(f"    one aggregate step (SQL) {'':12s} {seconds:9.2f} s  peak +{mb:7.0f} MB  {result}", flush=True)
        if "assign" in PARTS:
            assign = (f"SELECT s, count(*) FROM (SELECT segment_assign('huge_{rows}_memory', t) s FROM {table} t) q "
                      f"GROUP BY s ORDER BY s")
            results[rows, "assign"] = measured(assign, settings)
            seconds, result, mb = results[rows, "assign"]
            counted = sum(n for _, n in result) if isinstance(result, list) else result
            print(f"    assign every row {'':20s} {seconds:9.2f} s  peak +{mb:7.0f} MB  {counted} rows counted", flush=True)
            scan = measured(f"SELECT sum(f1 + f2 + f3 + f4 + f5 + f6 + f7 + f8) FROM {table}", settings)
            results[rows, "scan"] = scan
            print(f"    sum(f1 + ... + f8) scan {'':13s} {scan[0]:9.2f} s", flush=True)
        for suffix, _ in fits.values():
            conn.execute("SELECT segment_drop(%s)", (f"huge_{rows}_{suffix}",))
    if "step" in PARTS and "fits" not in PARTS and "assign" not in PARTS:
        conn.execute("SELECT segment_drop('huge_centres')")

    print()
    print("scaling (time ratio; rows ratio 10)")
    measured_keys = sorted({what for (_, what) in results}, key=[*FITS, "step", "assign", "scan"].index)
    for small, large in zip(SIZES, SIZES[1:]):
        for what in measured_keys:
            a, b = results[small, what][0], results[large, what][0]
            print(f"    {what:28s} {large:>11,} / {small:>11,} rows: {b / a:6.2f}")

    # Per-row costs at the largest size: what 1B rows on a Citus cluster is estimated from.
    big = SIZES[-1]
    print()
    print(f"per row at {big:,} rows on this machine (2 cores, parallel plans of 2 workers):")
    for what in ("step", "assign", "scan"):
        if (big, what) in results:
            print(f"    {what:8s} {results[big, what][0] / big * 1e9:7.1f} ns/row")
    return 0


if __name__ == "__main__":
    sys.exit(main())
