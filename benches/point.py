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
for a random id each time, as two roles: the superuser that fitted the models (row-level security
does not apply to it) and an analyst granted their use (a non-superuser, for whom every catalog
read runs the catalog's row-level security policy), and with the session's model cache
(customer_segment.model_cache_size) at its default and at 0 (every statement reads and parses the
model, as before the cache). Printed: queries per second and the ratio of the time per query with
the function to the time without (the goal is at most 1.2). Only ratios are comparable between
machines.
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
        # Five classes, each a cloud around its own centre: a forest has something to learn (its
        # trees stay shallow on these rows: a 37 kB document; the time a statement takes with the
        # cache does not depend on the document's size, only the first statement's does).
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
    return cur.execute("SELECT name, length(model::text), pg_column_size(model) FROM segment_model "
                       "WHERE name IN (%s, %s) ORDER BY name", (KMEANS, FOREST)).fetchall()


ANALYST = "bench_point_analyst"


def pgbench(query, protocol, role=None, options=""):
    """Queries per second of `query` (with :id a random customer) by one pgbench client, as `role`
    (None: the DSN's), with the session settings `options` (PGOPTIONS)."""
    dsn = DSN + (f" user={role}" if role else "")
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(f"\\set id random(1, {ROWS})\n{query};\n")
        script.flush()
        out = subprocess.run(
            ["pgbench", "-n", "-c", "1", "-T", str(SECONDS), "-M", protocol, "-f", script.name, dsn],
            check=True, capture_output=True, text=True, env={**os.environ, "PGOPTIONS": options}).stdout
    return float(re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out).group(1))


def measure(conn, cache_off=True):
    """Every case measured: a list of (query, role, protocol, q/s with, q/s without)."""
    cur = conn.cursor()
    sizes = make_table(cur)
    # The analyst: may log in, read the table and use both models (row-level security applies).
    if not cur.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (ANALYST,)).fetchone()[0]:
        cur.execute(f"CREATE ROLE {ANALYST} LOGIN")
    cur.execute(f"GRANT SELECT ON {TABLE} TO {ANALYST}")
    for name in (KMEANS, FOREST):
        cur.execute("SELECT segment_grant(%s, %s)", (name, ANALYST))
    # Before the cache (a build without customer_segment.model_cache_size) the setting is unknown.
    has_cache = cur.execute("SELECT count(*) FROM pg_settings WHERE name = "
                            "'customer_segment.model_cache_size'").fetchone()[0] > 0
    print(f"rows={ROWS} features=8 seconds={SECONDS} one client; model documents (text, stored): "
          + ", ".join(f"{n} {t / 1e6:.3f} MB, {s / 1e6:.3f} MB" for n, t, s in sizes))
    without_sql = f"SELECT t.* FROM {TABLE} t WHERE customer_id = :id"
    cases = [
        ("k-means (segment_assign)", f"SELECT segment_assign('{KMEANS}', t) FROM {TABLE} t WHERE customer_id = :id"),
        ("forest 100 trees (segment_classify)",
         f"SELECT segment_classify('{FOREST}', t) FROM {TABLE} t WHERE customer_id = :id"),
    ]
    runs = [("superuser", None, ""), ("analyst", ANALYST, "")]
    if has_cache and cache_off:
        runs.append(("analyst, cache off", ANALYST, "-c customer_segment.model_cache_size=0"))
    measured = []
    for protocol in ("simple", "prepared"):
        for who, role, options in runs:
            without = pgbench(without_sql, protocol, role, options)
            for label, with_sql in cases:
                measured.append((label, who, protocol, pgbench(with_sql, protocol, role, options), without))
    return measured


def main():
    measured = measure(psycopg.connect(DSN, autocommit=True))
    print(f"{'query':38s} {'role':19s} {'protocol':9s} {'with q/s':>9s} {'without q/s':>12s} {'ratio':>6s}")
    for label, who, protocol, with_, without in measured:
        # Time per query with the function / without = the rates' inverse ratio.
        print(f"{label:38s} {who:19s} {protocol:9s} {with_:9.0f} {without:12.0f} {without / with_:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
