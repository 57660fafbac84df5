#!/usr/bin/env python3
"""Benchmark of segment_drivers against the same GROUPING SETS query written plainly in SQL, in
one run (run by benches/run.sh).

A synthetic table of DRIVERS_ROWS rows (default 1,000,000): five dimensions (region: 12 text
values, plan: 4 text values, channel: 5 integers, segment: 6 integers, new_customer: boolean),
the flag `after` (half the rows), revenue (numeric, with 1% NULL) and visits (integer).
  ours:      SELECT count(*) FROM segment_drivers('bench_drivers', 'revenue', 'after',
             ARRAY[the five], '{"min_support": 0, "prune": false}')     (depth 3: 1,854 slices)
  baseline:  SELECT count(s) FROM (SELECT GROUPING(...), each dimension::text, after, count(*),
             count(revenue), sum(revenue), sum of squares FROM bench_drivers
             GROUP BY after, GROUPING SETS (the 26 combinations of up to 3 dimensions)) s
the query an analyst would write to get every slice's cells (the figures per slice then still to
be computed); and, for scale, the same query over the 10 combinations of exactly 3 dimensions
only (the grouping segment_drivers runs: the shallower slices are sums of those cells, added up
in the core), so that ours / that is the function's own overhead. The same again for a ratio (per
visits: the regr_* aggregates against sum(revenue), sum(visits) and the three sums of products
with FILTERs, as written by hand; so for a ratio the "own grouping query" is not quite ours).
count(s) counts whole rows, so every column of the baselines is computed. REPEAT rounds,
interleaved; medians of the times and of the per-round ratios.
"""
import itertools
import os
import statistics
import sys
import time

import psycopg

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("BENCH_DRIVERS_ROWS", 1_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
DIMS = ["region", "plan", "channel", "segment", "new_customer"]
DEPTH = 3


def make(cur):
    have = cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_drivers'").fetchone()[0]
    if have and cur.execute("SELECT count(*) FROM bench_drivers").fetchone()[0] == ROWS:
        return
    cur.execute("DROP TABLE IF EXISTS bench_drivers")
    cur.execute("SELECT setseed(0.7)")
    cur.execute(
        "CREATE TABLE bench_drivers AS SELECT "
        "'region ' || (random() * 11)::int AS region, "
        "(ARRAY['free', 'basic', 'pro', 'team'])[1 + (random() * 3)::int] AS plan, "
        "(random() * 4)::int AS channel, (random() * 5)::int AS segment, "
        "random() < 0.3 AS new_customer, i % 2 = 0 AS after, "
        "CASE WHEN random() < 0.01 THEN NULL "
        "     ELSE round((random() * 100 * (1 + (i % 2) * 0.1))::numeric, 2) END AS revenue, "
        "1 + (random() * 9)::int AS visits "
        f"FROM generate_series(1, {ROWS}) i")
    cur.execute("VACUUM ANALYZE bench_drivers")


def plain(ratio, deepest=False):
    """The GROUPING SETS query written by hand: every slice's cells (the combinations of up to
    DEPTH dimensions), or those of exactly DEPTH dimensions only."""
    depths = [DEPTH] if deepest else range(DEPTH + 1)
    sets = ", ".join(
        "(" + ", ".join(c) + ")" for k in depths for c in itertools.combinations(DIMS, k))
    x = "revenue::float8"
    if ratio:
        aggregates = (f"count(*), count({x}) FILTER (WHERE visits IS NOT NULL), "
                      f"sum({x}) FILTER (WHERE visits IS NOT NULL), "
                      f"sum(visits::float8) FILTER (WHERE {x} IS NOT NULL), "
                      f"sum({x} * {x}) FILTER (WHERE visits IS NOT NULL), "
                      f"sum(visits::float8 * visits) FILTER (WHERE {x} IS NOT NULL), "
                      f"sum({x} * visits)")
    else:
        aggregates = f"count(*), count({x}), sum({x}), sum({x} * {x})"
    return (f"SELECT count(s) FROM (SELECT GROUPING({', '.join(DIMS)}), "
            + ", ".join(f"{d}::text" for d in DIMS)
            + f", after, {aggregates} FROM bench_drivers GROUP BY after, GROUPING SETS ({sets})) s")


def ours(ratio):
    options = '{"min_support": 0, "prune": false' + (', "per": "visits"' if ratio else "") + "}"
    dims = ", ".join(f"'{d}'" for d in DIMS)
    return (f"SELECT count(*) FROM segment_drivers('bench_drivers', 'revenue', 'after', "
            f"ARRAY[{dims}], '{options}')")


def once(cur, sql):
    t0 = time.perf_counter()
    out = cur.execute(sql).fetchone()[0]
    return time.perf_counter() - t0, out


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    cur = conn.cursor()
    make(cur)
    cur.execute("SET work_mem = '64MB'")
    cur.execute("SET customer_segment.progress = off")
    cur.execute("SET client_min_messages = warning")
    print(f"rows={ROWS} dimensions={len(DIMS)} max_depth={DEPTH} "
          f"combinations={sum(1 for k in range(DEPTH + 1) for _ in itertools.combinations(DIMS, k))} "
          f"({sum(1 for _ in itertools.combinations(DIMS, DEPTH))} of {DEPTH}) "
          f"work_mem=64MB repeat={REPEAT} (medians)")
    once(cur, plain(False))  # warm the cache
    for ratio in (False, True):
        rounds, slices = [], None
        for _ in range(REPEAT):
            b, _ = once(cur, plain(ratio))
            o, slices = once(cur, ours(ratio))
            d, _ = once(cur, plain(ratio, deepest=True))
            rounds.append((o, b, d))
        o, b, d = (statistics.median(r[i] for r in rounds) for i in range(3))
        ratio_value = statistics.median(r[0] / r[1] for r in rounds)
        overhead = statistics.median(r[0] / r[2] for r in rounds)
        kind = "ratio (per visits)" if ratio else "sum"
        print(f"{kind}: {slices} rows out")
        print(f"  {'segment_drivers':52s} {o:8.3f} s")
        print(f"  {'GROUPING SETS of every slice (26), written plainly':52s} {b:8.3f} s")
        print(f"  {'GROUPING SETS of the deepest slices (10) only':52s} {d:8.3f} s")
        print("  per round (ours / plain): " + ", ".join(f"{x / y:.2f}" for x, y, _ in rounds))
        print(f"  segment_drivers / plain GROUPING SETS    = {ratio_value:.2f}   (median of the rounds)")
        print(f"  segment_drivers / its own grouping query = {overhead:.2f}")


if __name__ == "__main__":
    sys.exit(main())
