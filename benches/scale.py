#!/usr/bin/env python3
"""Scale: how segment_fit grows with the rows, what it does when the rows do not fit, and the
aggregate engine, measured in the same run (run by benches/run.sh; the same synthetic customers as
fit_assign.py: 8 float8 features, 8 blobs, k = 8, seeded).

  scaling    segment_fit (in memory, n_init 10) on SCALE_ROWS (1M) and 4 x SCALE_ROWS rows:
             time ratio 4M / 1M (target <= 4.4) and the backend's peak RSS over its start.
  aggregate  segment_fit with engine aggregate on the 1M rows, parallel plans allowed, against the
             in-memory fit of the same rows and options (same inertia expected).
  large      BIG_ROWS (10M) rows x 8 features (610 MB as a matrix) with
             customer_segment.max_memory_mb = 256: the in-memory fit must be refused (54000),
             minibatch_kmeans and engine aggregate must complete; the result row says the method
             and how many rows were used and fitted. Peak RSS over the backend's start.
Times are single runs (the tables are large): compare ratios, not absolute times.
"""
import os
import sys

import psycopg

import support
from fit_assign import make_table

DSN = os.environ["BENCH_DSN"]
SCALE_ROWS = int(os.environ.get("BENCH_ROWS", 1_000_000))
BIG_ROWS = int(os.environ.get("BENCH_BIG_ROWS", 10_000_000))
FEATURES = "ARRAY['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8']"


def measured(sql, settings=()):
    """Runs `sql` in a fresh session: (seconds, first row or the error, peak VmRSS growth MB)."""
    return support.measured(DSN, sql, settings)


def fit_sql(table, name, options):
    return (f"SELECT method, rows_used, rows_fitted, inertia FROM segment_fit('{table}', {FEATURES}, 8, "
            f"name => '{name}', options => '{options}')")


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    make_table(conn, SCALE_ROWS, "bench_customers")
    make_table(conn, 4 * SCALE_ROWS, "bench_customers_4x")
    in_memory = '{"n_init": 10, "seed": 0}'

    t1, r1, m1 = measured(fit_sql("bench_customers", "scale_1x", in_memory))
    t4, r4, m4 = measured(fit_sql("bench_customers_4x", "scale_4x", in_memory))
    parallel = ("SET max_parallel_workers_per_gather = 2",)
    ta, ra, ma = measured(fit_sql("bench_customers", "scale_agg", '{"n_init": 10, "seed": 0, "engine": "aggregate"}'), parallel)

    make_table(conn, BIG_ROWS, "bench_customers_big")
    cap = ("SET customer_segment.max_memory_mb = 256",) + parallel
    tr, rr, _ = measured(fit_sql("bench_customers_big", "big_memory", in_memory), cap)
    tm, rm, mm = measured(fit_sql("bench_customers_big", "big_minibatch", '{"method": "minibatch_kmeans", "n_init": 3, "seed": 0}'), cap)
    tg, rg, mg = measured(fit_sql("bench_customers_big", "big_aggregate", '{"engine": "aggregate", "n_init": 1, "seed": 0}'), cap)

    matrix_mb = lambda rows: rows * 8 * 8 / 2**20
    print(f"rows: {SCALE_ROWS} / {4 * SCALE_ROWS} / {BIG_ROWS}, 8 features, k = 8, cpus={os.cpu_count()}")
    print()
    print(f"{'fit 1x (in memory, n_init 10)':46s} {t1:8.2f} s  peak +{m1:5.0f} MB (matrix {matrix_mb(SCALE_ROWS):.0f} MB)  {r1}")
    print(f"{'fit 4x (in memory, n_init 10)':46s} {t4:8.2f} s  peak +{m4:5.0f} MB (matrix {matrix_mb(4 * SCALE_ROWS):.0f} MB)  {r4}")
    print(f"{'fit 1x engine aggregate (n_init 10)':46s} {ta:8.2f} s  peak +{ma:5.0f} MB  {ra}")
    print(f"{'10x, max_memory_mb 256: in memory':46s} {tr:8.2f} s  {str(rr).strip()[:90]}")
    print(f"{'10x, max_memory_mb 256: minibatch_kmeans':46s} {tm:8.2f} s  peak +{mm:5.0f} MB (matrix {matrix_mb(BIG_ROWS):.0f} MB)  {rm}")
    print(f"{'10x, max_memory_mb 256: engine aggregate':46s} {tg:8.2f} s  peak +{mg:5.0f} MB  {rg}")
    print()
    print(f"scaling: fit 4x / fit 1x          = {t4 / t1:.2f}   (target <= 4.4)")
    print(f"memory: fit 4x peak / matrix      = +{m4:.0f} MB for {matrix_mb(4 * SCALE_ROWS):.0f} MB   (target <= 2 x matrix + 64 MB = {2 * matrix_mb(4 * SCALE_ROWS) + 64:.0f} MB)")
    same = isinstance(ra, tuple) and isinstance(r1, tuple) and abs(ra[3] / r1[3] - 1) < 1e-6
    print(f"aggregate engine / in memory, 1x  = {ta / t1:.2f}   (same inertia: {same})")
    refused = isinstance(rr, psycopg.Error) and rr.sqlstate == "54000"
    print(f"10x above max_memory_mb: in-memory refused with 54000: {refused}; "
          f"minibatch completed: {isinstance(rm, tuple)}; aggregate completed: {isinstance(rg, tuple)}")
    for name in ["scale_1x", "scale_4x", "scale_agg", "big_minibatch", "big_aggregate"]:
        try:
            conn.execute("SELECT segment_drop(%s)", (name,))
        except psycopg.Error:
            pass


if __name__ == "__main__":
    sys.exit(main())
