#!/usr/bin/env python3
"""Benchmark of segment_fit and segment_assign against baselines measured in the same run.

Against a running cluster with customer_segment installed (benches/run.sh starts one):
  1. a synthetic customer table: ROWS rows x 8 float8 features, 8 Gaussian blobs (seeded);
  2. scan:   SELECT sum(f1 + ... + f8)                    (every feature value read once)
  3. fit:    segment_fit(k = 8, n_init, max_iter, tol)     (z-scored, k-means++)
             with the backend's peak private memory (RssAnon polled every 5 ms) and VmHWM
  4. assign: SELECT sum(segment_assign('bench', t))        (row form, the BI-view call)
             SELECT sum(segment_assign('bench', ARRAY[..]))(array form)
             SELECT sum((segment_explain('bench', t)).margin) (distance, runner-up and margin)
             both against the scan of 2., evaluated in the server (parallel plans allowed);
             and delivered to the client as a BI tool reads them, via COPY .. TO STDOUT:
             SELECT segment_assign('bench', t) FROM t  vs  SELECT f1, .., f8 FROM t
  5. export: COPY ... TO STDOUT (FORMAT binary) into numpy (the fastest export psycopg offers)
     sklearn: StandardScaler + KMeans(same k, n_init, max_iter, tol) on that array
Prints every time (median of REPEAT runs) and the ratios; figures are only comparable as ratios.
"""
import os
import re
import statistics
import sys
import threading
import time

import numpy as np
import psycopg
import sklearn
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

ROWS = int(os.environ.get("BENCH_ROWS", 1_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
K, N_INIT, MAX_ITER, TOL = 8, int(os.environ.get("BENCH_N_INIT", 10)), 300, 1e-4
FEATURES = [f"f{i}" for i in range(1, 9)]
DSN = os.environ["BENCH_DSN"]


def median_time(fn, repeat=REPEAT):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_table(conn, rows=None, name="bench_customers"):
    """The synthetic customers: `rows` rows (default ROWS) x 8 float8 features, 8 blobs, seeded."""
    rows = rows or ROWS
    cols = ", ".join(
        # blob b has centre 3 * ((b >> (j mod 3)) & 1) + j-th offset; Box-Muller noise.
        f"(3 * ((b >> {j % 3}) & 1) + {j % 2} * b * 0.5 + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::float8 AS f{j + 1}"
        for j in range(8)
    )
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_class WHERE relname = %s", (name,))
        if cur.fetchone()[0]:
            cur.execute(f"SELECT count(*) FROM {name}")
            if cur.fetchone()[0] == rows:
                return
            cur.execute(f"DROP TABLE {name}")
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            f"CREATE TABLE {name} AS SELECT i AS customer_id, {cols} "
            f"FROM (SELECT i, i % 8 AS b FROM generate_series(1, {rows}) i) s"
        )
        cur.execute(f"VACUUM ANALYZE {name}")
    conn.commit()


def backend_memory(pid):
    with open(f"/proc/{pid}/status") as f:
        s = f.read()
    kb = lambda key: int(re.search(rf"{key}:\s+(\d+) kB", s).group(1))
    return kb("RssAnon"), kb("VmHWM")


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    make_table(conn)
    cur = conn.cursor()
    feature_list = ", ".join(FEATURES)
    array = "ARRAY[" + feature_list + "]"

    # Warm the cache once so every timing below reads from shared buffers.
    cur.execute(f"SELECT sum({' + '.join(FEATURES)}) FROM bench_customers")
    scan = median_time(lambda: cur.execute(f"SELECT sum({' + '.join(FEATURES)}) FROM bench_customers").fetchall())

    options = f'{{"n_init": {N_INIT}, "max_iter": {MAX_ITER}, "tol": {TOL}, "seed": 0}}'
    fit_sql = (
        f"SELECT * FROM segment_fit('bench_customers', ARRAY{FEATURES!r}, {K}, name => 'bench', "
        f"options => '{options}')"
    ).replace("ARRAY['", "ARRAY['")
    # Memory: a fresh backend per fit, its private memory polled while the fit runs.
    peaks = []
    fit_times = []
    fit_row = None
    for _ in range(REPEAT):
        fc = psycopg.connect(DSN, autocommit=True)
        pid = fc.execute("SELECT pg_backend_pid()").fetchone()[0]
        base_anon, _ = backend_memory(pid)
        peak = [0]
        done = threading.Event()

        def poll():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], backend_memory(pid)[0])
                except (OSError, AttributeError):
                    pass
                time.sleep(0.005)

        t = threading.Thread(target=poll)
        t.start()
        t0 = time.perf_counter()
        fit_row = fc.execute(fit_sql).fetchone()
        fit_times.append(time.perf_counter() - t0)
        done.set()
        t.join()
        _, hwm = backend_memory(pid)
        peaks.append((peak[0] - base_anon, hwm))
        fc.close()
    fit = statistics.median(fit_times)

    assign_row = median_time(lambda: cur.execute("SELECT sum(segment_assign('bench', t)) FROM bench_customers t").fetchall())
    assign_array = median_time(lambda: cur.execute(f"SELECT sum(segment_assign('bench', {array})) FROM bench_customers").fetchall())
    explain = median_time(lambda: cur.execute("SELECT sum((segment_explain('bench', t)).margin) FROM bench_customers t").fetchall())

    def drain(sql):
        with cur.copy(f"COPY ({sql}) TO STDOUT") as cp:
            for _ in cp:
                pass

    select_out = median_time(lambda: drain(f"SELECT {feature_list} FROM bench_customers"))
    assign_out = median_time(lambda: drain("SELECT segment_assign('bench', t) FROM bench_customers t"))

    def export():
        dtype = [("n", ">i2")] + sum(([(f"l{i}", ">i4"), (f, ">f8")] for i, f in enumerate(FEATURES)), [])
        buf = bytearray()
        with cur.copy(f"COPY (SELECT {feature_list} FROM bench_customers) TO STDOUT (FORMAT binary)") as cp:
            for block in cp:
                buf += block
        body = memoryview(buf)[19:-2]  # 19-byte header, 2-byte trailer
        rec = np.frombuffer(body, dtype=dtype)
        return np.column_stack([rec[f].astype(np.float64) for f in FEATURES])

    holder = {}
    export_t = median_time(lambda: holder.__setitem__("x", export()))
    x = holder["x"]
    assert x.shape == (ROWS, 8), x.shape

    sk = {}

    def sklearn_fit():
        xs = StandardScaler().fit_transform(x)
        sk["km"] = KMeans(n_clusters=K, n_init=N_INIT, max_iter=MAX_ITER, tol=TOL, random_state=0).fit(xs)

    sklearn_t = median_time(sklearn_fit)

    # Per-group models: the same rows with a store column (20 stores), one model per store; the
    # assign reads the store of each row and picks its model. Against the scan and the one-model
    # assign of the same table.
    cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_grouped'")
    if not cur.fetchone()[0]:
        cur.execute("CREATE TABLE bench_grouped AS SELECT *, (customer_id % 20)::int AS store FROM bench_customers")
        cur.execute("VACUUM ANALYZE bench_grouped")
    fit_grouped_sql = (f"SELECT count(*) FROM segment_fit('bench_grouped', ARRAY[{', '.join(repr(f) for f in FEATURES)}], "
                       f"{K}, 'bench_by_store', options => '{{\"group_by\": \"store\", \"n_init\": 1}}')")
    cur.execute("SET customer_segment.progress = off")
    groups_fitted = cur.execute(fit_grouped_sql).fetchone()[0] - 1
    scan_g = median_time(lambda: cur.execute(f"SELECT sum({' + '.join(FEATURES)}) FROM bench_grouped").fetchall())
    assign_g_one = median_time(lambda: cur.execute("SELECT sum(segment_assign('bench', t)) FROM bench_grouped t").fetchall())
    assign_g = median_time(lambda: cur.execute("SELECT sum(segment_assign('bench_by_store', t)) FROM bench_grouped t").fetchall())

    matrix_mb = ROWS * 8 * 8 / 2**20
    peak_anon_mb = statistics.median(p[0] for p in peaks) / 1024
    hwm_mb = statistics.median(p[1] for p in peaks) / 1024
    print(f"rows={ROWS} features=8 k={K} n_init={N_INIT} max_iter={MAX_ITER} tol={TOL} repeat={REPEAT} (medians)")
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, cpus={os.cpu_count()}")
    print(f"segment_fit: inertia={fit_row[5]:.1f} iterations={fit_row[7]}   scikit-learn: inertia={sk['km'].inertia_:.1f} iterations={sk['km'].n_iter_}")
    print()
    print(f"{'scan  SELECT sum(f1+..+f8)':44s} {scan:8.3f} s")
    print(f"{'fit   segment_fit':44s} {fit:8.3f} s")
    print(f"{'      export (binary COPY -> numpy)':44s} {export_t:8.3f} s")
    print(f"{'      scikit-learn scale + KMeans':44s} {sklearn_t:8.3f} s")
    print(f"{'assign sum(segment_assign(m, t)) row form':44s} {assign_row:8.3f} s")
    print(f"{'assign sum(segment_assign(m, ARRAY[..]))':44s} {assign_array:8.3f} s")
    print(f"{'explain sum((segment_explain(m, t)).margin)':44s} {explain:8.3f} s")
    print(f"{'select f1..f8 to the client (COPY)':44s} {select_out:8.3f} s")
    print(f"{'select segment_assign(m, t) to the client':44s} {assign_out:8.3f} s")
    print()
    print(f"fit / (export + sklearn)      = {fit / (export_t + sklearn_t):.2f}   (target <= 0.33)")
    print(f"fit / sklearn alone           = {fit / sklearn_t:.2f}   (target <= 1.0)")
    print(f"assign (row) / scan           = {assign_row / scan:.2f}   (target <= 1.3)")
    print(f"assign (array) / scan         = {assign_array / scan:.2f}")
    print(f"explain / scan                = {explain / scan:.2f}")
    print(f"assign / select, to client    = {assign_out / select_out:.2f}")
    print(f"per-group assign ({groups_fitted} stores): scan {scan_g:.3f} s, one model {assign_g_one:.3f} s, per store {assign_g:.3f} s")
    print(f"per-group assign / scan       = {assign_g / scan_g:.2f}   (one model on the same table: {assign_g_one / scan_g:.2f})")
    print(f"fit peak private memory       = {peak_anon_mb:.0f} MB over the idle backend "
          f"(matrix {matrix_mb:.0f} MB; target <= {2 * matrix_mb + 64:.0f} MB); VmHWM {hwm_mb:.0f} MB incl. shared buffers")


if __name__ == "__main__":
    sys.exit(main())
