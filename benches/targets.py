#!/usr/bin/env python3
"""The k-means speed targets, each printed as met or missed with its ratio, all measured in one
run against the fastest peer a user can pick (run by benches/run.sh, in the benches' own Python
environment, which has scikit-learn-intelex):

  table   BENCH_ROWS (1M) synthetic customers x 8 float8 features (fit_assign.py's, seeded)
  peers   the rows exported with psycopg (COPY ... TO STDOUT (FORMAT binary) into numpy),
          z-scored (StandardScaler), then KMeans.fit of stock scikit-learn and of
          scikit-learn-intelex (sklearnex.cluster.KMeans, oneDAL) with the same k, n_init,
          max_iter and tol
  ours    segment_fit on the table (reads its rows, z-scores, fits), same k, n_init, max_iter, tol

  target                                                       bound
  segment_fit / intelex fit, n_init 1, max_iter 100            <= 1.0
  segment_fit / intelex fit, n_init 10, max_iter 300           <= 1.0
  segment_fit / (export + intelex fit), n_init 1               <= 0.25
  sum(segment_assign(model, row)) / sum(f1 + ... + f8)         <= 1.2

Each time is the median of BENCH_REPEAT runs (default 3); each fit's inertia is printed next to
it (on the same z-scored features: a faster fit that reaches a worse inertia does not count).
The other targets
of the speed issue (gmm, dbscan, mini-batch, RFM, CLV, 10M rows) are measured by methods.py,
rfm.py, clv.py and scale.py against their stock peers, not yet against these bounds here.
Only ratios are comparable between machines.
"""
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

try:
    from sklearnex.cluster import KMeans as IntelKMeans
except ImportError:  # not in this environment: say so rather than compare with nothing
    IntelKMeans = None

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_assign import make_table  # noqa: E402

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("BENCH_ROWS", 1_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
K, TOL = 8, 1e-4
FEATURES = [f"f{i}" for i in range(1, 9)]
TABLE = "bench_targets"
# COPY's binary format: a 19-byte header, then per row a field count (int16) and per field a
# length (int32) and the value (float8), all big-endian; a trailer of -1 (int16).
ROW = np.dtype([("n", ">i2")] + [(f, d) for i in range(8) for f, d in ((f"l{i}", ">i4"), (f"v{i}", ">f8"))])


def median_time(fn):
    times, result = [], None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def export(conn):
    """The rows as a float64 array, the fastest way psycopg offers."""
    buf = bytearray()
    with conn.cursor().copy(
        f"COPY (SELECT {', '.join(FEATURES)} FROM {TABLE}) TO STDOUT (FORMAT binary)"
    ) as copy:
        for block in copy:
            buf += block
    rows = np.frombuffer(bytes(buf[19:-2]), dtype=ROW)
    return np.column_stack([rows[f"v{i}"].astype(np.float64) for i in range(8)])


def fit_ours(cur, n_init, max_iter):
    options = f'{{"n_init": {n_init}, "max_iter": {max_iter}, "tol": {TOL}, "seed": 0}}'
    return cur.execute(
        f"SELECT inertia FROM segment_fit('{TABLE}', ARRAY{FEATURES}, {K}, name => 'bench_targets', "
        f"options => '{options}')"
    ).fetchone()[0]


def fit_peer(cls, x, n_init, max_iter):
    return cls(n_clusters=K, n_init=n_init, max_iter=max_iter, tol=TOL, random_state=0).fit(x).inertia_


def verdict(name, ratio, bound):
    print(f"{'MET   ' if ratio <= bound else 'MISSED'} {name:58s} {ratio:6.2f}  (bound {bound})")


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    cur = conn.cursor()
    cur.execute("SET customer_segment.progress = off")
    make_table(conn, ROWS, TABLE)
    cur.execute(f"VACUUM ANALYZE {TABLE}")
    print(f"rows={ROWS} features=8 k={K} tol={TOL} repeat={REPEAT} cpus={os.cpu_count()} (medians)")
    if IntelKMeans is None:
        print("scikit-learn-intelex is not installed in this environment: targets not measured")
        return 1

    t_export, x = median_time(lambda: export(conn))
    x = StandardScaler().fit_transform(x)
    print(f"{'export (COPY binary into numpy)':44s} {t_export:8.3f} s")
    times = {}
    for n_init, max_iter in ((1, 100), (10, 300)):
        for who, fn in (
            ("segment_fit", lambda: fit_ours(cur, n_init, max_iter)),
            ("scikit-learn", lambda: fit_peer(KMeans, x, n_init, max_iter)),
            ("scikit-learn-intelex", lambda: fit_peer(IntelKMeans, x, n_init, max_iter)),
        ):
            t, inertia = median_time(fn)
            times[(who, n_init)] = t
            print(f"{who + f' fit, n_init {n_init}, max_iter {max_iter}':44s} {t:8.3f} s   inertia {inertia:.1f}")
    cur.execute(f"SELECT * FROM segment_fit('{TABLE}', ARRAY{FEATURES}, {K}, name => 'bench_targets', "
                "options => '{\"n_init\": 1, \"seed\": 0}')")
    features_sum = " + ".join(FEATURES)
    t_scan, _ = median_time(lambda: cur.execute(f"SELECT sum({features_sum}) FROM {TABLE}").fetchone())
    t_assign, _ = median_time(
        lambda: cur.execute(f"SELECT sum(segment_assign('bench_targets', t)) FROM {TABLE} t").fetchone()
    )
    print(f"{'SELECT sum(f1 + ... + f8)':44s} {t_scan:8.3f} s")
    print(f"{'SELECT sum(segment_assign(model, t))':44s} {t_assign:8.3f} s")
    print()
    verdict("segment_fit / intelex fit, n_init 1, max_iter 100",
            times[("segment_fit", 1)] / times[("scikit-learn-intelex", 1)], 1.0)
    verdict("segment_fit / intelex fit, n_init 10, max_iter 300",
            times[("segment_fit", 10)] / times[("scikit-learn-intelex", 10)], 1.0)
    verdict("segment_fit / (export + intelex fit), n_init 1",
            times[("segment_fit", 1)] / (t_export + times[("scikit-learn-intelex", 1)]), 0.25)
    verdict("sum(segment_assign) / sum(f1 + ... + f8)", t_assign / t_scan, 1.2)
    print(f"(stock scikit-learn / intelex: n_init 1 {times[('scikit-learn', 1)] / times[('scikit-learn-intelex', 1)]:.2f}, "
          f"n_init 10 {times[('scikit-learn', 10)] / times[('scikit-learn-intelex', 10)]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
