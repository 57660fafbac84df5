#!/usr/bin/env python3
"""Citus: k-means on a distributed table against the same rows in a plain table, measured in the
same run, on a Citus cluster of its own (tests/citus/cluster.sh: a coordinator and two workers on
loopback, ports 54390-54392 for PostgreSQL 15; PG_MAJOR picks the version as for the tests).

  rows   BENCH_ROWS (1M) synthetic customers (fit_assign.py's: 8 float8 features, 8 blobs,
         seeded) in a plain table and a distributed copy (8 shards, by customer_id)
  fits   segment_fit, k = 8, n_init BENCH_N_INIT (default 2 here), seed 0: in memory on the plain
         table; engine aggregate on the plain table; engine aggregate on the distributed table
         with citus.coordinator_aggregation_strategy at its default and 'disabled'
  steps  what the coordinator receives per Lloyd step (Citus's "Tuple data received from
         nodes" under EXPLAIN ANALYZE), against the rows' feature bytes (rows x 8 x 8 B):
         - one step by hand, the query of src/api/kmeans_step.rs step_query,
           SELECT segment_kmeans_step(ARRAY[f1, ..., f8], centres, preprocessing)::text FROM t,
           with the plain fit's centres and preprocessing, once with the two arrays written as
           literals, once as parameters of a prepared statement (as the fit passes them): its
           wall time, then EXPLAIN (ANALYZE, VERBOSE). Citus cannot EXPLAIN ANALYZE a step it
           pushes down as worker_partial_agg (its tasks return cstring: ERROR 42P16 column
           "field_0" has pseudo-type cstring); then the figure is computed instead: each
           task's query, from EXPLAIN (VERBOSE) with citus.explain_all_tasks, run on its
           worker, and the text size of its result summed (what the coordinator receives)
         - the fit's own steps: the distributed fit runs with auto_explain (nested statements,
           no ANALYZE, which would fail as above): how many step queries, how long each, and
           whether its plan pushes the step to the shards (worker_partial_agg)

Run it directly (python3 benches/citus.py, as root or as a user who may run PostgreSQL) after
installing the release build (bash scripts/test.sh citus does, or cargo pgrx install --release);
it prints that it is skipped when Citus is not installed for that PostgreSQL. Times are single
runs: compare the ratios, measured in the same run, not absolute times.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("BENCH_ROWS", 1_000_000))
N_INIT = int(os.environ.get("BENCH_N_INIT", 2))
K = 8
FEATURES = [f"f{i}" for i in range(1, 9)]
PG_OFFSET = (int(os.environ.get("PG_MAJOR", 15)) - 15) * 100
PORT = int(os.environ.get("BENCH_CITUS_PORT", 54390 + PG_OFFSET))
DIR = os.environ.get("BENCH_CITUS_DIR", "/tmp/customer_segment_bench_citus")
DSN = f"host=127.0.0.1 port={PORT} user=postgres dbname=postgres"

# The same synthetic customers as the other benches (fit_assign.py reads BENCH_DSN when imported).
os.environ.setdefault("BENCH_DSN", DSN)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_assign import make_table  # noqa: E402
RECEIVED = re.compile(r"Tuple data received from nodes: (\d+) (bytes|kB|MB|GB|TB)")
UNITS = {"bytes": 1, "kB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}
COORDINATOR_LOG = Path(DIR) / "coordinator" / "server.log"
AUTO_EXPLAIN = ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_verbose = on")


def received(text):
    """Every "Tuple data received from nodes" figure in an EXPLAIN text, in bytes (Citus prints
    them with pg_size_pretty: 128 MB is 128 x 2^20 bytes, rounded)."""
    return [int(n) * UNITS[unit] for n, unit in RECEIVED.findall(text)]


def cluster(action):
    """Runs tests/citus/cluster.sh's citus_start or citus_stop; exit status 3: no Citus."""
    script = ('source "$1/scripts/lib.sh"; source "$1/tests/citus/cluster.sh"; '
              'citus_installed || exit 3; "$2" "$3" "$4"')
    return subprocess.run(["bash", "-c", script, "_", str(REPO), action, DIR, str(PORT)]).returncode


def fit(table, name, options, settings=()):
    """segment_fit in a fresh session: (seconds, the result row or the error)."""
    sql = (f"SELECT method, rows_used, iterations, inertia FROM segment_fit('{table}', "
           f"ARRAY[{', '.join(repr(f) for f in FEATURES)}], {K}, name => '{name}', options => '{options}')")
    with psycopg.connect(DSN, autocommit=True) as c:
        for s in settings:
            c.execute(s)
        t0 = time.perf_counter()
        try:
            row = c.execute(sql).fetchone()
        except psycopg.Error as e:
            row = e
        return time.perf_counter() - t0, row


def float8_array(values):
    return "'{" + ",".join("NaN" if v != v else repr(float(v)) for v in values) + "}'::float8[]"


def step(conn, table, centres, preprocessing, settings=(), parameters=False):
    """One Lloyd step, the arrays as literals or as parameters of a prepared statement: run once
    for its wall time, then its figure (see the module's doc). (bytes received from the nodes,
    how they were found, seconds) or the error."""
    columns = ", ".join(f'"{f}"::float8' for f in FEATURES)
    query = f"SELECT public.segment_kmeans_step(ARRAY[{columns}], %s, %s)::text FROM {table}"
    arrays = (float8_array(centres), float8_array(preprocessing))
    try:
        for s in settings:
            conn.execute(s)
        if parameters:
            conn.execute("PREPARE one_step(float8[], float8[]) AS " + query % ("$1", "$2"))
            sql = "EXECUTE one_step(%s, %s)" % arrays
        else:
            sql = query % arrays
        t0 = time.perf_counter()
        conn.execute(sql).fetchall()
        seconds = time.perf_counter() - t0
        try:
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, VERBOSE) " + sql).fetchall())
            got = received(plan)
            return (got[0] if got else None), "EXPLAIN ANALYZE", seconds
        except psycopg.errors.InvalidTableDefinition:  # 42P16: see the module's doc
            conn.execute("SET citus.explain_all_tasks = on")
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (VERBOSE) " + sql).fetchall())
            return tasks_result_bytes(plan), "computed from the tasks' results", seconds
    except psycopg.Error as e:
        return e
    finally:
        conn.execute("DEALLOCATE ALL")
        conn.execute("RESET ALL")


def tasks_result_bytes(plan):
    """Runs every task of an EXPLAIN (VERBOSE) with citus.explain_all_tasks on its worker and
    sums the text size of what it returns (tasks of one column, as a pushed-down step's)."""
    total = 0
    for query, port in re.findall(r"Query: (.*)\n\s*Node: host=\S+ port=(\d+)", plan):
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres") as w:
            total += w.execute(f"SELECT coalesce(sum(octet_length(x::text)), 0) FROM ({query}) q(x)").fetchone()[0]
    return total


def fit_steps(log_text):
    """The step queries auto_explain logged during a fit: [(ms, pushed down to the shards)]."""
    steps = []
    for entry in re.split(r"\n(?=\S)", log_text):
        if "segment_kmeans_step(" in entry and "Query Text:" in entry:
            ms = float(re.search(r"duration: ([\d.]+) ms", entry).group(1))
            steps.append((ms, "worker_partial_agg" in entry))
    return steps


def preprocessing_of(doc):
    """The preprocessing array a fit builds (segment_core Preprocessor::to_floats): encoding 1,
    the width, the imputer (0: skip), log flags, fill values (NaN: none), offsets, inverse scales."""
    model = doc["model"]
    d = len(model["features"])
    assert model["imputer"]["method"] == "skip" and not model["log"], "the bench fits z-scored raw features"
    scaler = model["scaler"]
    return ([1.0, float(d), 0.0] + [0.0] * d + [float("nan")] * d
            + scaler["offset"] + [1.0 / s for s in scaler["scale"]])


def shown(result):
    if isinstance(result, psycopg.Error):
        return f"ERROR {result.sqlstate} {str(result).splitlines()[0]}"
    return str(result)


def main():
    status = cluster("citus_start")
    if status == 3:
        print("citus bench: skipped (Citus is not installed for this PostgreSQL)")
        return 0
    if status != 0:
        return status
    try:
        return run()
    finally:
        cluster("citus_stop")


def run():
    conn = psycopg.connect(DSN, autocommit=True)
    conn.execute("CREATE EXTENSION customer_segment")
    version = conn.execute("SELECT citus_version()").fetchone()[0].split(" on ")[0]
    default_strategy = conn.execute("SHOW citus.coordinator_aggregation_strategy").fetchone()[0]
    make_table(conn, ROWS, "bench_customers")
    conn.execute("ALTER TABLE bench_customers ADD PRIMARY KEY (customer_id)")
    conn.execute("CREATE TABLE bench_customers_dist (LIKE bench_customers INCLUDING INDEXES)")
    conn.execute("SELECT create_distributed_table('bench_customers_dist', 'customer_id', shard_count => 8)")
    conn.execute("INSERT INTO bench_customers_dist SELECT * FROM bench_customers")
    conn.execute("VACUUM ANALYZE bench_customers_dist")

    in_memory = f'{{"n_init": {N_INIT}, "seed": 0}}'
    aggregate = f'{{"n_init": {N_INIT}, "seed": 0, "engine": "aggregate"}}'
    disabled = ("SET citus.coordinator_aggregation_strategy = 'disabled'",)
    t_mem, r_mem = fit("bench_customers", "citus_memory", in_memory)
    t_agg, r_agg = fit("bench_customers", "citus_aggregate", aggregate)
    log_start = COORDINATOR_LOG.stat().st_size
    t_dist, r_dist = fit("bench_customers_dist", "citus_dist", aggregate, AUTO_EXPLAIN)
    with open(COORDINATOR_LOG, errors="replace") as f:
        f.seek(log_start)
        steps = fit_steps(f.read())
    t_off, r_off = fit("bench_customers_dist", "citus_dist_disabled", aggregate, disabled)

    doc = conn.execute("SELECT segment_export('citus_aggregate')").fetchone()[0]
    centres = [v for centre in doc["model"]["centres"] for v in centre]
    prep = preprocessing_of(doc)
    s_plain = step(conn, "bench_customers", centres, prep)
    s_dist = step(conn, "bench_customers_dist", centres, prep)
    s_param = step(conn, "bench_customers_dist", centres, prep, parameters=True)
    s_off = step(conn, "bench_customers_dist", centres, prep, disabled)
    s_off_param = step(conn, "bench_customers_dist", centres, prep, disabled, parameters=True)

    feature_bytes = ROWS * len(FEATURES) * 8
    print(f"rows: {ROWS} in a plain table and a distributed one (8 shards, 2 workers), "
          f"{len(FEATURES)} features, k = {K}, n_init {N_INIT}, {version}, cpus={os.cpu_count()}")
    print()
    print(f"{'fit in memory, plain table':58s} {t_mem:8.2f} s  {shown(r_mem)}")
    print(f"{'fit engine aggregate, plain table':58s} {t_agg:8.2f} s  {shown(r_agg)}")
    print(f"{'fit engine aggregate, distributed (' + default_strategy + ')':58s} {t_dist:8.2f} s  {shown(r_dist)}")
    print(f"{'fit engine aggregate, distributed (disabled)':58s} {t_off:8.2f} s  {shown(r_off)}")
    print()
    fmt_bytes = lambda b: "not shown" if b is None else f"{b} bytes ({b / feature_bytes:.6f} x the {feature_bytes} feature bytes)"
    if steps:
        ms = sorted(m for m, _ in steps)
        pushed = sum(p for _, p in steps)
        print(f"the distributed fit's own steps ({default_strategy}, auto_explain): {len(steps)} step queries, "
              f"median {ms[len(ms) // 2]:.0f} ms each, {pushed} of them pushed to the shards (worker_partial_agg)")
    print(f"one Lloyd step by hand, plain table: {f'{s_plain[2] * 1000:.0f} ms' if isinstance(s_plain, tuple) else shown(s_plain)}")
    for label, s in ((f"{default_strategy}, literal arrays", s_dist), (f"{default_strategy}, parameters", s_param),
                     ("disabled, literal arrays", s_off), ("disabled, parameters", s_off_param)):
        if isinstance(s, tuple):
            print(f"one Lloyd step by hand, distributed ({label}): {s[2] * 1000:.0f} ms, received: {fmt_bytes(s[0])} ({s[1]})")
        else:
            print(f"one Lloyd step by hand, distributed ({label}): {shown(s)}")
    print()
    ok = lambda r: isinstance(r, tuple)
    if ok(r_dist) and ok(r_mem):
        print(f"aggregate distributed / in memory plain   = {t_dist / t_mem:.2f}")
    if ok(r_dist) and ok(r_agg):
        same = abs(r_dist[3] / r_agg[3] - 1) < 1e-9 and r_dist[2] == r_agg[2]
        print(f"aggregate distributed / aggregate plain   = {t_dist / t_agg:.2f}   (same inertia and iterations: {same})")
    if ok(r_off) and ok(r_agg):
        print(f"aggregate distributed (disabled) / plain  = {t_off / t_agg:.2f}")
    if isinstance(s_param, tuple) and isinstance(s_plain, tuple):
        print(f"one step, distributed (parameters) / plain = {s_param[2] / s_plain[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
