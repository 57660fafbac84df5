#!/usr/bin/env python3
"""Benchmark of segment labels in a SELECT, in one run (run by benches/run.sh).

A BI view names every row's segment. Two ways, measured on the same LABEL_ROWS rows (default
100,000; 4 float8 features, k = 4, seeded):
  per row:  SELECT count(segment_label('bench_labels', segment_assign('bench_labels', t))) FROM t
  view:     the view segment_create_view makes (a subquery with segment_assign, and
            segment_label per row where the segment is not NULL or noise)
both against the assign alone (SELECT count(segment_assign(...))). The labels are read once per
statement either way, so both should cost about what the assign costs. Medians of REPEAT runs;
only ratios are comparable between machines.
"""
import os
import statistics
import sys
import time

import psycopg

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("BENCH_LABEL_ROWS", 100_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))


def timed(cur, sql):
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        cur.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    cur = conn.cursor()
    cur.execute("DROP VIEW IF EXISTS bench_labels_view")
    cur.execute("DROP TABLE IF EXISTS bench_labels")
    cur.execute("SELECT setseed(0.3)")
    cur.execute(
        f"CREATE TABLE bench_labels AS SELECT i AS id, "
        + ", ".join(f"((i % 4) * 3 + random())::float8 AS f{j}" for j in range(1, 5))
        + f" FROM generate_series(1, {ROWS}) i"
    )
    cur.execute("ALTER TABLE bench_labels ADD PRIMARY KEY (id)")
    cur.execute("VACUUM ANALYZE bench_labels")
    cur.execute("SELECT segment_drop('bench_labels') FROM segment_models WHERE name = 'bench_labels' LIMIT 1")
    cur.execute("SELECT * FROM segment_fit('bench_labels', ARRAY['f1', 'f2', 'f3', 'f4'], 4, "
                "name => 'bench_labels', options => '{\"n_init\": 1}')")
    cur.execute("SELECT segment_create_view('bench_labels', 'bench_labels', 'bench_labels_view')")
    assign = timed(cur, "SELECT count(segment_assign('bench_labels', t)) FROM bench_labels t")
    per_row = timed(cur, "SELECT count(segment_label('bench_labels', segment_assign('bench_labels', t))) "
                         "FROM bench_labels t")
    view = timed(cur, "SELECT count(segment_label) FROM bench_labels_view")
    print(f"rows={ROWS} features=4 k=4 repeat={REPEAT} (medians)")
    print(f"{'assign alone':40s} {assign:8.3f} s")
    print(f"{'segment_label per row':40s} {per_row:8.3f} s")
    print(f"{'segment_create_view view':40s} {view:8.3f} s")
    print(f"segment_label per row / view = {per_row / view:.2f}")
    print(f"segment_label per row / assign alone = {per_row / assign:.2f}")


if __name__ == "__main__":
    sys.exit(main())
