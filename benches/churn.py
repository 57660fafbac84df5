#!/usr/bin/env python3
"""Benchmark of segment_churn_fit against export + scikit-learn's DecisionTreeClassifier, in one
run (run by benches/run.sh).

A synthetic labelled history: CHURN_ROWS rows (default 1,000,000) x 10 float8 features, the label
drawn from a logistic function of four of them (seeded). Both sides: depth 8, min_samples_leaf
20, gini, a stratified 20% held out and scored (ROC AUC of the leaves' training rates).
  ours:    segment_churn_fit (reads the rows, splits, fits, scores, profiles the leaves, stores)
  theirs:  export (binary COPY -> numpy) + train_test_split + DecisionTreeClassifier.fit +
           predict_proba and roc_auc_score on the held-out rows
Times are medians of REPEAT runs; only the ratio is comparable between machines.
"""
import os
import statistics
import sys
import time

import numpy as np
import psycopg
import sklearn
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("BENCH_CHURN_ROWS", 1_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
FEATURES = [f"x{i}" for i in range(1, 11)]


def timed(fn):
    times, out = [], None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main():
    conn = psycopg.connect(DSN, autocommit=True)
    cur = conn.cursor()
    exists = cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_churn'").fetchone()[0]
    if not exists or cur.execute("SELECT count(*) FROM bench_churn").fetchone()[0] != ROWS:
        cur.execute("DROP TABLE IF EXISTS bench_churn")
        cur.execute("SELECT setseed(0.17)")
        cols = ", ".join(f"(random() * 100)::float8 AS x{i}" for i in range(1, 11))
        cur.execute(f"CREATE TABLE bench_churn AS SELECT i AS customer_id, {cols} FROM generate_series(1, {ROWS}) i")
        cur.execute("ALTER TABLE bench_churn ADD COLUMN churned boolean")
        cur.execute("UPDATE bench_churn SET churned = random() < 1 / (1 + exp(-(0.05 * (x1 - 50) "
                    "- 0.04 * (x2 - 50) + 0.03 * (x3 - 50) * (x4 > 70)::int - 1.5)))")
        cur.execute("VACUUM ANALYZE bench_churn")
    array = "ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "]"
    options = '{"max_depth": 8, "min_samples_leaf": 20}'
    ours, row = timed(lambda: cur.execute(
        f"SELECT leaves, roc_auc FROM segment_churn_fit('bench_churn', {array}, 'churned', "
        f"name => 'bench_churn', options => '{options}')").fetchone())

    def export():
        dtype = [("n", ">i2")] + sum(([(f"l{i}", ">i4"), (f, ">f8")] for i, f in enumerate(FEATURES)), []) \
            + [("ly", ">i4"), ("y", "i1")]
        buf = bytearray()
        with cur.copy(f"COPY (SELECT {', '.join(FEATURES)}, churned FROM bench_churn) TO STDOUT (FORMAT binary)") as cp:
            for block in cp:
                buf += block
        rec = np.frombuffer(memoryview(buf)[19:-2], dtype=dtype)
        return np.column_stack([rec[f].astype(np.float64) for f in FEATURES]), rec["y"].astype(bool)

    def theirs():
        x, y = export()
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
        tree = DecisionTreeClassifier(max_depth=8, min_samples_leaf=20, random_state=0).fit(x_train, y_train)
        return tree.get_n_leaves(), roc_auc_score(y_test, tree.predict_proba(x_test)[:, 1])

    sk, sk_row = timed(theirs)
    print(f"rows={ROWS} features=10 depth=8 min_samples_leaf=20 repeat={REPEAT} (medians)")
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, cpus={os.cpu_count()}")
    print(f"segment_churn_fit: leaves={row[0]} roc_auc={row[1]:.4f}   scikit-learn: leaves={sk_row[0]} roc_auc={sk_row[1]:.4f}")
    print(f"{'segment_churn_fit':44s} {ours:8.3f} s")
    print(f"{'export + scikit-learn split, fit, score':44s} {sk:8.3f} s")
    print(f"churn fit / (export + sklearn) = {ours / sk:.2f}")


if __name__ == "__main__":
    sys.exit(main())
