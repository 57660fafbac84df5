#!/usr/bin/env python3
"""Benchmark of point queries, in one run (run by benches/run.sh): one customer at a time, as an
application or a BI drill-down asks for it.

POINT_ROWS customers (default 100,000; 8 float8 features and a class label, seeded) with a primary
key; two models fitted on them: k-means (k = 8, n_init 1) and a 100-tree forest
(segment_classify_fit with {"method": "forest", "n_trees": 100}). pgbench, one client, for
POINT_SECONDS seconds (default 5) each, with the simple and the prepared protocol, runs
  with:     SELECT segment_assign('<model>', t) FROM t WHERE customer_id = :id   (k-means)
            SELECT segment_classify('<model>', t) FROM t WHERE customer_id = :id (forest)
  without:  SELECT t.* FROM t WHERE customer_id = :id  (the row the function reads)
for a random id each time. Printed: queries per second and the ratio of the time per query
with the function to the time without (the goal is at most 1.2). Only ratios are comparable
between machines.
"""
import os
import re
import subprocess
import sys
import tempfile

import psycopg

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("POINT_ROWS", 100_000))
SECONDS = int(os.environ.get("POINT_SECONDS", 5))
TABLE = "bench_point"
KMEANS, FOREST = "bench_point_kmeans", "bench_point_forest"
FEATURES = [f"f{i}" for i in range(1, 9)]


def make_table(cur):
    """The customers (kept when the table has ROWS rows), and the two models (refitted each run)."""
    have = cur.execute("SELECT count(*) FROM pg_class WHERE relname = %s", (TABLE,)).fetchone()[0]
    if not have or cur.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] != ROWS:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute("SELECT setseed(0.7)")
        # Five classes, each a cloud around its own centre: a forest has something to learn.
        cur.execute(
            f"CREATE TABLE {TABLE} AS SELECT i AS customer_id, "
            + ", ".join(f"((i % 5) * {j % 3 + 1} + 2 * random())::float8 AS {f}"
                        for j, f in enumerate(FEATURES))
            + f", 'class ' || (i % 5) AS segment FROM generate_series(1, {ROWS}) i"
        )
        cur.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (customer_id)")
        cur.execute(f"VACUUM ANALYZE {TABLE}")
    cur.execute("SET customer_segment.progress = off")
    for name in (KMEANS, FOREST):
        cur.execute("SELECT segment_drop(name) FROM segment_models WHERE name = %s LIMIT 1", (name,))
    features = "ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "]"
    cur.execute(f"SELECT * FROM segment_fit('{TABLE}', {features}, 8, name => '{KMEANS}', "
                "options => '{\"n_init\": 1}')")
    cur.execute(f"SELECT * FROM segment_classify_fit('{TABLE}', {features}, 'segment', '{FOREST}', "
                "'{\"method\": \"forest\", \"n_trees\": 100}')")
    return cur.execute("SELECT name, pg_column_size(model) FROM segment_model WHERE name IN (%s, %s)",
                       (KMEANS, FOREST)).fetchall()


def pgbench(query, protocol):
    """Queries per second of `query` (with :id a random customer) by one pgbench client."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(f"\\set id random(1, {ROWS})\n{query};\n")
        script.flush()
        out = subprocess.run(
            ["pgbench", "-n", "-c", "1", "-T", str(SECONDS), "-M", protocol, "-f", script.name, DSN],
            check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out).group(1))


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    cur = conn.cursor()
    sizes = make_table(cur)
    print(f"rows={ROWS} features=8 seconds={SECONDS} one client; stored model sizes: "
          + ", ".join(f"{n} {s / 1e6:.2f} MB" for n, s in sizes))
    without_sql = f"SELECT t.* FROM {TABLE} t WHERE customer_id = :id"
    cases = [
        ("k-means (segment_assign)", f"SELECT segment_assign('{KMEANS}', t) FROM {TABLE} t WHERE customer_id = :id"),
        ("forest, 100 trees (segment_classify)",
         f"SELECT segment_classify('{FOREST}', t) FROM {TABLE} t WHERE customer_id = :id"),
    ]
    print(f"{'query':40s} {'protocol':9s} {'with q/s':>10s} {'without q/s':>12s} {'ratio':>6s}")
    for protocol in ("simple", "prepared"):
        without = pgbench(without_sql, protocol)
        for label, with_sql in cases:
            with_ = pgbench(with_sql, protocol)
            # Time per query with the function / without = the rates' inverse ratio.
            print(f"{label:40s} {protocol:9s} {with_:10.0f} {without:12.0f} {without / with_:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
