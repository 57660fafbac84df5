#!/usr/bin/env python3
"""Money in numeric columns: assign and fit over numeric(14,4) features against the same values
in float8 columns and against PostgreSQL's own scan of the numerics, measured in one run.

Against a running cluster with customer_segment installed (benches/run.sh starts one):
  1. bench_numeric: ROWS rows x 8 numeric(14,4) amounts (fit_assign.py's blobs x 1000, rounded to
     4 places); bench_numeric_f8: the same values as float8 (each the double numeric::float8 gives)
  2. scan:   SELECT sum(f1 + ... + f8)                       over the numerics (numeric addition)
             SELECT sum(f1 + ... + f8)                       over the float8 copy
  3. assign: SELECT sum(segment_assign('bench_num', t))      over each table
  4. fit:    segment_fit(k = 8, n_init 1, max_iter 1)        over each table: the read dominates
             segment_drift('bench_num', table)               over each table: a read and an assign
Targets (issue 30): assign over numerics <= 1.2 x the numeric scan; the fit's read over numerics
<= 1.5 x over float8. Prints medians of REPEAT runs; figures are only comparable as ratios.
"""
import os
import statistics
import time

import psycopg

ROWS = int(os.environ.get("BENCH_NUMERIC_ROWS", os.environ.get("BENCH_ROWS", 1_000_000)))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
FEATURES = [f"f{i}" for i in range(1, 9)]
DSN = os.environ["BENCH_DSN"]


def median_time(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_tables(cur):
    cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_numeric_f8'")
    if cur.fetchone()[0]:
        cur.execute("SELECT count(*) FROM bench_numeric_f8")
        if cur.fetchone()[0] == ROWS:
            return
    cur.execute("DROP TABLE IF EXISTS bench_numeric, bench_numeric_f8")
    cols = ", ".join(
        f"round(((3 * ((b >> {j % 3}) & 1) + {j % 2} * b * 0.5 + sqrt(-2 * ln(1 - random())) "
        f"* cos(2 * pi() * random())) * 1000)::numeric, 4)::numeric(14,4) AS f{j + 1}"
        for j in range(8)
    )
    cur.execute("SELECT setseed(0.42)")
    cur.execute(
        f"CREATE TABLE bench_numeric AS SELECT i AS customer_id, {cols} "
        f"FROM (SELECT i, i % 8 AS b FROM generate_series(1, {ROWS}) i) s"
    )
    f8 = ", ".join(f"{f}::float8 AS {f}" for f in FEATURES)
    cur.execute(f"CREATE TABLE bench_numeric_f8 AS SELECT customer_id, {f8} FROM bench_numeric")
    cur.execute("VACUUM ANALYZE bench_numeric")
    cur.execute("VACUUM ANALYZE bench_numeric_f8")


def measure(conn):
    """The tables (made once), then per table the medians of each timing: {table: {key: s}}."""
    cur = conn.cursor()
    cur.execute("SET customer_segment.progress = off")
    make_tables(cur)
    total = " + ".join(FEATURES)
    features = "ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "]"
    one_pass = '{"n_init": 1, "max_iter": 1, "seed": 0}'
    cur.execute(
        f"SELECT * FROM segment_fit('bench_numeric', {features}, 8, name => 'bench_num', "
        f"options => '{{\"seed\": 0, \"n_init\": 1}}')"
    )

    def run(sql):
        return lambda: cur.execute(sql).fetchall()

    results = {}
    for table in ["bench_numeric", "bench_numeric_f8"]:
        # Warm the cache once so every timing reads from shared buffers.
        cur.execute(f"SELECT sum({total}) FROM {table}").fetchall()
        results[table] = {
            "scan": median_time(run(f"SELECT sum({total}) FROM {table}")),
            "cast scan": median_time(run(f"SELECT sum({' + '.join(f + '::float8' for f in FEATURES)}) FROM {table}")),
            "assign": median_time(run(f"SELECT sum(segment_assign('bench_num', t)) FROM {table} t")),
            "fit": median_time(run(
                f"SELECT * FROM segment_fit('{table}', {features}, 8, name => 'bench_num_{table}', "
                f"options => '{one_pass}')"
            )),
            "drift": median_time(run(f"SELECT count(*) FROM segment_drift('bench_num', '{table}')")),
        }
    return results


def main():
    results = measure(psycopg.connect(DSN, autocommit=True))
    n, f = results["bench_numeric"], results["bench_numeric_f8"]
    print(f"rows={ROWS} features=8 numeric(14,4) vs float8 repeat={REPEAT} (medians)")
    print()
    print(f"{'':52s} {'numeric':>9s} {'float8':>9s}")
    for key, label in [
        ("scan", "scan   SELECT sum(f1 + .. + f8)"),
        ("cast scan", "       SELECT sum(f1::float8 + .. + f8::float8)"),
        ("assign", "assign sum(segment_assign(m, t))"),
        ("fit", "fit    segment_fit(k 8, n_init 1, max_iter 1)"),
        ("drift", "read   segment_drift(m, table)"),
    ]:
        print(f"{label:52s} {n[key]:8.3f}s {f[key]:8.3f}s")
    print()
    print(f"assign on numerics / numeric scan   = {n['assign'] / n['scan']:.2f}   (target <= 1.2)")
    print(f"assign on numerics / on float8      = {n['assign'] / f['assign']:.2f}")
    print(f"fit (read-bound) numeric / float8   = {n['fit'] / f['fit']:.2f}   (target <= 1.5)")
    print(f"drift (read + assign) numeric/float8 = {n['drift'] / f['drift']:.2f}")


if __name__ == "__main__":
    main()
