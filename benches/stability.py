#!/usr/bin/env python3
"""Benchmark of segment_stability against the plain numpy + scikit-learn implementation of the
same bootstrap (tests/reference/clusterboot_reference.py's clusterboot) on the same rows, in one
run (run by benches/run.sh).

  wholesale  the 440 wholesale customers (tests/data/wholesale_customers), the six spend columns
             with the log option (ln(1 + x)), z-scored; k-means k = 3; RUNS_SMALL runs
             (BENCH_STABILITY_RUNS_SMALL, default 100).
  bank       the 4,521 bank clients (tests/data/bank_marketing/bank.csv): age, balance, day,
             duration, campaign, z-scored; k-means k = 4; RUNS (BENCH_STABILITY_RUNS, default 50).

Ours: segment_stability(model, runs => R, options => '{"store": false}') on the fitted model:
reading the rows through the model's preprocessing, R refits (each k-means with n_init 10 on the
n rows drawn, every drawn row labelled) and the Jaccards. The peer: the reference's clusterboot
on the exported rows (binary COPY -> numpy, then the same log and z-scores): R times KMeans
(n_init 10, scikit-learn's defaults, its threads: every core) on the rows drawn, predict on the
distinct rows, the Jaccards in numpy; its original segmentation (one KMeans fit) is not timed,
as ours is the stored model. The export is timed apart. Both sides use every core (run.sh sets
customer_segment.threads). Times are medians of REPEAT runs; each side's stabilities are printed,
matched by the segments' overlap (they should agree within about 0.1: the random streams differ).
"""
import csv
import os
import sys

import numpy as np
import psycopg
import sklearn

import support

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
from clusterboot_reference import canonical, clusterboot, kmeans, zscore  # noqa: E402

DSN = os.environ["BENCH_DSN"]
RUNS_SMALL = int(os.environ.get("BENCH_STABILITY_RUNS_SMALL", 100))
RUNS = int(os.environ.get("BENCH_STABILITY_RUNS", 50))

SPEND = ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]
BANK = ["age", "balance", "day", "duration", "campaign"]


def load(cur, table, path, columns, source_columns):
    """`table` (id, columns float8) from a CSV of the test data, kept when it has every row."""
    with open(path, newline="") as f:
        rows = [[float(r[c]) for c in source_columns] for r in csv.DictReader(f, delimiter=",")]
    if support.has_rows(cur, table, len(rows)):
        return
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, {', '.join(c + ' float8' for c in columns)})")
    with cur.copy(f"COPY {table} FROM STDIN") as cp:
        for i, r in enumerate(rows, 1):
            cp.write_row([i, *r])
    cur.execute(f"VACUUM ANALYZE {table}")


def export(cur, table, columns):
    dtype = [("n", ">i2")] + sum(([(f"l{c}", ">i4"), (c, ">f8")] for c in columns), [])
    rec = support.copy_out(cur, f"SELECT {', '.join(columns)} FROM {table} ORDER BY id", dtype)
    return np.column_stack([rec[c].astype(np.float64) for c in columns])


def compare(cur, label, table, columns, k, runs, log):
    model = f"bench_stability_{label}"
    array = "ARRAY[" + ", ".join(f"'{c}'" for c in columns) + "]"
    options = '{"log": [' + ", ".join(f'"{c}"' for c in columns) + "]}" if log else "{}"
    cur.execute(f"SELECT * FROM segment_fit('{table}', {array}, {k}, name => '{model}', "
                f"options => '{options}')").fetchall()
    sql = (f"SELECT segment, stability FROM segment_stability('{model}', runs => {runs}, "
           "options => '{\"store\": false}') ORDER BY segment")
    t_ours, ours = support.timed(lambda: cur.execute(sql).fetchall())
    t_export, x = support.timed(lambda: export(cur, table, columns))
    x = zscore(np.log1p(x) if log else x)
    fit = kmeans(k, 0).fit(x)
    labels = canonical(fit.labels_, fit.cluster_centers_)
    t_ref, (theirs, _, _) = support.timed(
        lambda: clusterboot(x, labels, k, runs, np.random.default_rng(0)))
    # Each of our segments against the reference's segment sharing most of its rows.
    assigned = np.array(cur.execute(
        f"SELECT segment_assign('{model}', t) FROM {table} t ORDER BY id").fetchall()).ravel()
    matched = [np.bincount(labels[assigned == s], minlength=k).argmax() for s in range(k)]
    cur.execute(f"SELECT segment_drop('{model}')")
    print(f"{label}: {len(x)} rows x {len(columns)}, k = {k}, {runs} runs")
    print(f"  segment_stability                 {t_ours:8.3f} s")
    print(f"  export (binary COPY -> numpy)     {t_export:8.3f} s")
    print(f"  reference (numpy + scikit-learn)  {t_ref:8.3f} s")
    print(f"  ours / reference = {t_ours / t_ref:.3f}   ours / (export + reference) = "
          f"{t_ours / (t_export + t_ref):.3f}")
    pairs = ", ".join(f"{s}: {v:.3f} / {theirs[matched[s]]:.3f}" for s, v in ours)
    print(f"  stability ours / reference: {pairs}")
    return t_ours, t_ref


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    cur = conn.cursor()
    cur.execute("SET customer_segment.progress = off")
    data = os.path.join(REPO, "tests", "data")
    load(cur, "bench_stability_wholesale",
         os.path.join(data, "wholesale_customers", "wholesale_customers.csv"), SPEND,
         ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"])
    load(cur, "bench_stability_bank", os.path.join(data, "bank_marketing", "bank.csv"), BANK, BANK)
    threads = cur.execute("SHOW customer_segment.threads").fetchone()[0]
    print(f"repeat={support.REPEAT} threads={threads} cpus={os.cpu_count()} "
          f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    print()
    compare(cur, "wholesale", "bench_stability_wholesale", SPEND, 3, RUNS_SMALL, log=True)
    print()
    compare(cur, "bank", "bench_stability_bank", BANK, 4, RUNS, log=False)


if __name__ == "__main__":
    sys.exit(main())
