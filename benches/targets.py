#!/usr/bin/env python3
"""Every speed target of the speed issues, each printed as met or missed with its ratio, all
measured in one run against the fastest peer a user can pick (run by benches/run.sh, in the
benches' own Python environment, which has scikit-learn-intelex and lifetimes):

  table   BENCH_ROWS (1M) synthetic customers x 8 float8 features (fit_assign.py's, seeded)
  peers   the rows exported with psycopg (COPY ... TO STDOUT (FORMAT binary) into numpy),
          z-scored (StandardScaler), then the peer's fit on the in-memory array

  target (issue 30 where it sets one, else the earlier speed issue's)   bound
  segment_fit / intelex KMeans.fit, n_init 1, max_iter 100            <= 1.5
  segment_fit / intelex KMeans.fit, n_init 10, max_iter 300           <= 1.0
  segment_fit / (export + intelex fit), n_init 1                      <= 0.25
  sum(segment_assign(model, row)) / sum(f1 + ... + f8)                <= 1.2
  sum((segment_explain(model, row)).margin) / sum(f1 + ... + f8)      <= 3.0
  gmm (k 8, full, n_init 1, tol 1e-3) / GaussianMixture, 100k rows    <= 1.0
  dbscan (eps 1.5, min_points 5) / intelex DBSCAN, 5,000 rows         <= 2.0
  dbscan (eps 1.5, min_points 5) / intelex DBSCAN, 50,000 rows        <= 2.0
  minibatch_kmeans (batch 1024, 5 epochs, 3 starts) / MiniBatchKMeans <= 2.0
      (same batch_size, max_iter = epochs, n_init; ours reads its rows, the peer has the array)
  segment_rfm / the plain GROUP BY of the same aggregates, 10M purchases   <= 1.3   (rfm.py)
  segment_clv_fit / (export + lifetimes summary + both fits), 1M customers <= 0.5   (clv.py)
  segment_fit at 10M rows / at 1M rows (in memory, n_init 10)         <= 10.5
  assign over numeric(14,4) columns / PostgreSQL's sum over them      <= 1.2    (numeric.py)
  fit (read-bound) over numeric columns / over float8 columns         <= 1.5    (numeric.py)
  point query with the function / without, k-means and a 100-tree forest,
      simple and prepared protocols, superuser and analyst             <= 1.2    (point.py)
  segment_classify_fit forest / intelex RandomForestClassifier.fit    <= 2.0    (classify.py,
      1M rows; sum(segment_classify) / intelex predict <= 1.5; and the stock scikit-learn ratios)
  segment_fit kprototypes / kmodes KPrototypes.fit, 25k mixed rows   none   (mixed.py;
      and / (export + fit); sum(segment_assign) / sum scan and / predict; no bound in the issue)

Each time is the median of BENCH_REPEAT runs (default 3; the 10M fits and CLV run once); each
k-means fit's inertia is printed next to it (a faster fit that reaches a worse inertia does not
count). Only ratios are comparable between machines. BENCH_TARGETS (default "kmeans methods rfm
clv numeric point scale"; "classify" and "mixed" on request: run.sh runs classify.py and mixed.py on
their own anyway) picks the groups to run.
"""
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

try:
    from sklearnex.cluster import DBSCAN as IntelDBSCAN
    from sklearnex.cluster import KMeans as IntelKMeans
except ImportError:  # not in this environment: say so rather than compare with nothing
    IntelKMeans = IntelDBSCAN = None

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_assign import make_table  # noqa: E402

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("BENCH_ROWS", 1_000_000))
BIG_ROWS = int(os.environ.get("BENCH_BIG_ROWS", 10_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
GROUPS = os.environ.get("BENCH_TARGETS", "kmeans methods rfm clv numeric point scale").split()
GMM_ROWS, DBSCAN_ROWS = 100_000, (5_000, 50_000)
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


def export(conn, table=TABLE):
    """The rows as a float64 array, the fastest way psycopg offers."""
    buf = bytearray()
    with conn.cursor().copy(
        f"COPY (SELECT {', '.join(FEATURES)} FROM {table}) TO STDOUT (FORMAT binary)"
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


VERDICTS = []


def verdict(name, ratio, bound, note=""):
    """bound None: the issue sets none, the ratio is printed alone."""
    state = "RATIO " if bound is None else "MET   " if ratio <= bound else "MISSED"
    VERDICTS.append(f"{state} {name:62s} {ratio:6.2f}  (bound {'none' if bound is None else bound}){note}")


def line(label, seconds, extra=""):
    print(f"{label:56s} {seconds:8.3f} s   {extra}")


def kmeans_targets(conn, cur, x, t_export):
    times = {}
    for n_init, max_iter in ((1, 100), (10, 300)):
        for who, fn in (
            ("segment_fit", lambda: fit_ours(cur, n_init, max_iter)),
            ("scikit-learn", lambda: fit_peer(KMeans, x, n_init, max_iter)),
            ("scikit-learn-intelex", lambda: fit_peer(IntelKMeans, x, n_init, max_iter)),
        ):
            t, inertia = median_time(fn)
            times[(who, n_init)] = t
            line(f"{who} fit, n_init {n_init}, max_iter {max_iter}", t, f"inertia {inertia:.1f}")
    cur.execute(f"SELECT * FROM segment_fit('{TABLE}', ARRAY{FEATURES}, {K}, name => 'bench_targets', "
                "options => '{\"n_init\": 1, \"seed\": 0}')")
    features_sum = " + ".join(FEATURES)
    t_scan, _ = median_time(lambda: cur.execute(f"SELECT sum({features_sum}) FROM {TABLE}").fetchone())
    t_assign, _ = median_time(
        lambda: cur.execute(f"SELECT sum(segment_assign('bench_targets', t)) FROM {TABLE} t").fetchone()
    )
    t_explain, _ = median_time(
        lambda: cur.execute(f"SELECT sum((segment_explain('bench_targets', t)).margin) FROM {TABLE} t").fetchone()
    )
    line("SELECT sum(f1 + ... + f8)", t_scan)
    line("SELECT sum(segment_assign(model, t))", t_assign)
    line("SELECT sum((segment_explain(model, t)).margin)", t_explain)
    verdict("segment_fit / intelex fit, n_init 1, max_iter 100",
            times[("segment_fit", 1)] / times[("scikit-learn-intelex", 1)], 1.5)
    verdict("segment_fit / intelex fit, n_init 10, max_iter 300",
            times[("segment_fit", 10)] / times[("scikit-learn-intelex", 10)], 1.0)
    verdict("segment_fit / (export + intelex fit), n_init 1",
            times[("segment_fit", 1)] / (t_export + times[("scikit-learn-intelex", 1)]), 0.25)
    verdict("sum(segment_assign) / sum(f1 + ... + f8)", t_assign / t_scan, 1.2)
    verdict("sum(segment_explain margin) / sum(f1 + ... + f8)", t_explain / t_scan, 3.0)
    print(f"(stock scikit-learn / intelex: n_init 1 {times[('scikit-learn', 1)] / times[('scikit-learn-intelex', 1)]:.2f}, "
          f"n_init 10 {times[('scikit-learn', 10)] / times[('scikit-learn-intelex', 10)]:.2f})")


def method_targets(conn, cur, x):
    def ours(table, k, options):
        k_sql = "NULL" if k is None else str(k)
        method = options.split('"method": "')[1].split('"')[0]
        return median_time(lambda: cur.execute(
            f"SELECT segments FROM segment_fit('{table}', ARRAY{FEATURES}, {k_sql}, name => 'bench_targets_{method}', "
            f"options => '{options}')").fetchone()[0])

    for n in (GMM_ROWS, *DBSCAN_ROWS):
        cur.execute(f"DROP TABLE IF EXISTS bench_targets_{n}")
        cur.execute(f"CREATE TABLE bench_targets_{n} AS SELECT * FROM {TABLE} ORDER BY customer_id LIMIT {n}")
    xs = StandardScaler().fit_transform(export(conn, f"bench_targets_{GMM_ROWS}"))
    t_ours, _ = ours(f"bench_targets_{GMM_ROWS}", K, '{"method": "gmm", "n_init": 1, "max_iter": 300, "tol": 1e-3}')
    t_peer, _ = median_time(lambda: GaussianMixture(K, covariance_type="full", n_init=1, max_iter=300, tol=1e-3,
                                                    random_state=0).fit(xs))
    line(f"gmm segment_fit, {GMM_ROWS} rows", t_ours)
    line("scikit-learn GaussianMixture(full).fit", t_peer)
    verdict(f"gmm / GaussianMixture, {GMM_ROWS} rows", t_ours / t_peer, 1.0)

    for n in DBSCAN_ROWS:
        xs = StandardScaler().fit_transform(export(conn, f"bench_targets_{n}"))
        t_ours, segments = ours(f"bench_targets_{n}", None, '{"method": "dbscan", "eps": 1.5, "min_points": 5}')
        t_peer, fitted = median_time(lambda: IntelDBSCAN(eps=1.5, min_samples=5).fit(xs))
        line(f"dbscan segment_fit, {n} rows", t_ours, f"{segments} segments")
        line("scikit-learn-intelex DBSCAN.fit", t_peer, f"{len(set(fitted.labels_) - {-1})} clusters")
        verdict(f"dbscan / intelex DBSCAN, {n} rows", t_ours / t_peer, 2.0)

    t_ours, _ = ours(TABLE, K, '{"method": "minibatch_kmeans", "batch_size": 1024, "epochs": 5, "n_init": 3, "tol": 0.0001}')
    t_peer, _ = median_time(lambda: MiniBatchKMeans(K, batch_size=1024, max_iter=5, n_init=3, tol=1e-4,
                                                    random_state=0).fit(x))
    line(f"minibatch_kmeans segment_fit, {ROWS} rows (reads them)", t_ours)
    line("scikit-learn MiniBatchKMeans.fit (array in memory)", t_peer)
    verdict("minibatch_kmeans / MiniBatchKMeans", t_ours / t_peer, 2.0)


def rfm_target(conn):
    import rfm
    m = rfm.measure(conn)
    line(f"segment_rfm, {rfm.TRANSACTIONS} purchases", m["ours"])
    line("the same aggregates by GROUP BY customer", m["base"])
    verdict("segment_rfm / GROUP BY (median of the rounds' ratios)", m["ratio"], 1.3)


def clv_target(conn):
    import clv
    m = clv.measure(conn)
    line(f"segment_clv_fit, {clv.CUSTOMERS} customers", m["t_ours"],
         "parameters within 10% of the truth" if m["recovered"] else "PARAMETERS OFF")
    line("export + lifetimes summary + both fits", m["t_theirs"])
    verdict("segment_clv_fit / (export + lifetimes)", m["t_ours"] / m["t_theirs"], 0.5,
            "" if m["recovered"] else "  (parameters off: does not count)")


def classify_target(conn):
    import classify
    m = classify.measure(conn)
    line(f"segment_classify_fit forest, {classify.ROWS} rows", m["t_ours"], f"held-out accuracy {m['acc_ours']:.4f}")
    line("scikit-learn RandomForestClassifier.fit", m["t_sk"], f"held-out accuracy {m['acc_sk']:.4f}")
    line("export of the same rows", m["t_export"])
    line("SELECT sum(length(segment_classify(model, t)))", m["t_apply"])
    line("SELECT sum(f1 + ... + f8) of the same rows", m["t_scan"])
    line("scikit-learn predict, all rows in memory", m["t_predict"])
    note = "" if abs(m["acc_ours"] - m["acc_sk"]) <= 0.01 else "  (accuracies differ by more than 0.01)"
    if m["t_intel"] is not None:
        line("scikit-learn-intelex RandomForestClassifier.fit", m["t_intel"], f"held-out accuracy {m['acc_intel']:.4f}")
        line("scikit-learn-intelex predict, all rows in memory", m["t_intel_predict"])
        verdict("classify fit forest / intelex RandomForestClassifier.fit", m["t_ours"] / m["t_intel"], 2.0, note)
        verdict("sum(segment_classify) / intelex predict", m["t_apply"] / m["t_intel_predict"], 1.5)
    verdict("classify fit forest / RandomForestClassifier.fit", m["t_ours"] / m["t_sk"], None, note)
    verdict("classify fit forest / (export + RandomForestClassifier.fit)",
            m["t_ours"] / (m["t_export"] + m["t_sk"]), None, note)
    verdict("sum(segment_classify) / sum(f1 + ... + f8)", m["t_apply"] / m["t_scan"], None)
    verdict("sum(segment_classify) / RandomForestClassifier.predict", m["t_apply"] / m["t_predict"], None)


def mixed_target(conn):
    import mixed
    m = mixed.measure(conn)
    ratio = m["cost_ours"] / m["cost_kmodes"]
    line(f"segment_fit kprototypes, {m['rows']} rows, n_init {m['n_init']}", m["t_ours"], f"cost {m['cost_ours']:.1f}")
    line("kmodes KPrototypes.fit (init Cao, same gamma)", m["t_kmodes"], f"cost {m['cost_kmodes']:.1f}")
    line("export of the same rows (with z-scores)", m["t_export"])
    line("SELECT sum(segment_assign(model, t))", m["t_assign"])
    line("SELECT sum(n1 + ... + length(c4)) of the same rows", m["t_scan"])
    line("kmodes predict, all rows in memory", m["t_predict"])
    note = "" if ratio <= 1.01 else f"  (cost {ratio:.4f} x kmodes': more than 1% above)"
    verdict("kprototypes fit / KPrototypes.fit", m["t_ours"] / m["t_kmodes"], None, note)
    verdict("kprototypes fit / (export + KPrototypes.fit)", m["t_ours"] / (m["t_export"] + m["t_kmodes"]), None, note)
    verdict("sum(segment_assign) kprototypes / sum scan", m["t_assign"] / m["t_scan"], None)
    verdict("sum(segment_assign) kprototypes / KPrototypes.predict", m["t_assign"] / m["t_predict"], None)


def numeric_target(conn):
    import numeric
    m = numeric.measure(conn)
    n, f = m["bench_numeric"], m["bench_numeric_f8"]
    line(f"sum(segment_assign) over {numeric.ROWS} rows x 8 numeric(14,4)", n["assign"])
    line("SELECT sum(f1 + ... + f8) over the numerics", n["scan"])
    line("fit (k 8, n_init 1, max_iter 1) over the numerics", n["fit"])
    line("the same fit over float8 copies", f["fit"])
    verdict("sum(segment_assign) numerics / sum over the numerics", n["assign"] / n["scan"], 1.2)
    verdict("fit over numerics / over float8 (read-bound)", n["fit"] / f["fit"], 1.5)


def point_target(conn):
    import point
    for label, who, protocol, with_, without in point.measure(conn, cache_off=False):
        line(f"point query {label}, {who}, {protocol}: q/s with {with_:.0f}, without {without:.0f}", 1 / with_)
        verdict(f"point {label.split(' (')[0]}, {who}, {protocol} / without", without / with_, 1.2)


def scale_target(conn, cur):
    make_table(conn, BIG_ROWS, "bench_customers_big")
    cur.execute("SET customer_segment.max_memory_mb = 4096")
    fit = lambda table: cur.execute(
        f"SELECT inertia FROM segment_fit('{table}', ARRAY{FEATURES}, {K}, name => 'bench_targets_s', "
        "options => '{\"seed\": 0}')").fetchone()[0]
    t1 = median_time(lambda: fit(TABLE))[0]
    t0 = time.perf_counter()
    fit("bench_customers_big")
    t10 = time.perf_counter() - t0
    cur.execute("RESET customer_segment.max_memory_mb")
    line(f"segment_fit {ROWS} rows, n_init 10", t1)
    line(f"segment_fit {BIG_ROWS} rows, n_init 10 (one run)", t10)
    verdict(f"segment_fit {BIG_ROWS} rows / {ROWS} rows", t10 / t1, 10.5 * BIG_ROWS / ROWS / 10)


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
    line("export (COPY binary into numpy)", t_export)
    if "kmeans" in GROUPS:
        kmeans_targets(conn, cur, x, t_export)
    if "methods" in GROUPS:
        method_targets(conn, cur, x)
    if "rfm" in GROUPS:
        rfm_target(conn)
    if "clv" in GROUPS:
        clv_target(conn)
    if "numeric" in GROUPS:
        numeric_target(conn)
    if "point" in GROUPS:
        point_target(conn)
    if "classify" in GROUPS:
        classify_target(conn)
    if "mixed" in GROUPS:
        mixed_target(conn)
    if "scale" in GROUPS:
        scale_target(conn, cur)
    print()
    print("\n".join(VERDICTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
