#!/usr/bin/env python3
"""Benchmark of segment_classify_fit (method forest) and segment_classify against scikit-learn's
RandomForestClassifier on the same rows, in one run (run by benches/run.sh; targets.py's
"classify" group).

CLASSIFY_ROWS (default 1,000,000) labelled rows: scikit-learn's make_classification (8 float8
features, 5 informative and 2 redundant, 5 classes of 2 clusters each, 2% labels flipped,
seeded), written into a table with binary COPY, so both sides read exactly the same values.
Both sides: 100 trees, depth 10, at least 1 row a leaf, sqrt(8) = 2 features tried per split,
on a stratified 80% of each class, scored on the other 20% (each side draws its own split:
same shares, not the same rows). The threads: customer_segment.threads for ours (run.sh: one per
core), the same number as n_jobs for scikit-learn.
  fit:    segment_classify_fit (reads the rows, splits, grows, scores, stores)
          against RandomForestClassifier.fit on the in-memory training array, alone and with
          the export (binary COPY -> numpy) of the table; scikit-learn-intelex's forest
          (oneDAL's own trees: not the same algorithm) for reference
  apply:  SELECT sum(length(segment_classify(model, t))) FROM t (parallel plans allowed)
          against the scan SELECT sum(f1 + ... + f8) FROM t, and against predict on all the
          rows in memory
The fits run once each (scikit-learn's forest takes minutes on a small machine); the export,
the scan, the apply and the predicts are medians of REPEAT runs. Only ratios are comparable
between machines; the held-out accuracies must be close for the fit ratio to mean anything.
"""
import os
import sys

import numpy as np
import psycopg
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

import support

try:
    from sklearnex.ensemble import RandomForestClassifier as IntelRandomForestClassifier
except ImportError:  # not in this environment: measured without it
    IntelRandomForestClassifier = None

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("BENCH_CLASSIFY_ROWS", 1_000_000))
REPEAT = support.REPEAT
TABLE, MODEL = "bench_classify", "bench_classify"
FEATURES = [f"f{i}" for i in range(1, 9)]
CLASSES = 5
N_TREES, MAX_DEPTH, MIN_SAMPLES_LEAF, SEED = 100, 10, 1, 0
# A row in COPY's binary format (see support.py): per column a length and the value.
FIELDS = sum(([(f"l{f}", ">i4"), (f, ">f8")] for f in FEATURES), [])



def make_table(cur):
    """The labelled rows (kept when the table has ROWS rows)."""
    if support.has_rows(cur, TABLE, ROWS):
        return
    x, y = make_classification(n_samples=ROWS, n_features=8, n_informative=5, n_redundant=2, n_repeated=0,
                               n_classes=CLASSES, n_clusters_per_class=2, class_sep=1.0, flip_y=0.02,
                               random_state=0)
    cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cur.execute(f"CREATE TABLE {TABLE} (id bigint, {', '.join(f + ' float8' for f in FEATURES)}, segment int)")
    rec = np.zeros(ROWS, dtype=[("n", ">i2"), ("lid", ">i4"), ("id", ">i8")] + FIELDS + [("ly", ">i4"), ("y", ">i4")])
    rec["n"], rec["lid"], rec["id"], rec["ly"], rec["y"] = 10, 8, np.arange(1, ROWS + 1), 4, y
    for j, f in enumerate(FEATURES):
        rec[f"l{f}"], rec[f] = 8, x[:, j]
    support.copy_in(cur, TABLE, rec)
    cur.execute(f"VACUUM ANALYZE {TABLE}")


def export(cur):
    """The features and the label as numpy arrays, the fastest way psycopg offers."""
    rec = support.copy_out(cur, f"SELECT {', '.join(FEATURES)}, segment FROM {TABLE}",
                               [("n", ">i2")] + FIELDS + [("ly", ">i4"), ("y", ">i4")])
    return np.column_stack([rec[f].astype(np.float64) for f in FEATURES]), rec["y"].astype(np.int64)


def measure(conn):
    """The table (made once), the fits (once each) and the applies; returns the figures."""
    cur = conn.cursor()
    cur.execute("SET customer_segment.progress = off")
    make_table(cur)
    options = (f'{{"method": "forest", "n_trees": {N_TREES}, "max_depth": {MAX_DEPTH}, '
               f'"min_samples_leaf": {MIN_SAMPLES_LEAF}, "max_features": "sqrt", "seed": {SEED}}}')
    features = "ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "]"
    t_ours, ours = support.timed(lambda: cur.execute(
        f"SELECT accuracy, macro_f1, rows_train, rows_test FROM segment_classify_fit('{TABLE}', {features}, "
        f"'segment', name => '{MODEL}', options => '{options}')").fetchone(), 1)
    # The fit's threads (run.sh sets every core for the bench database); known once the fit has
    # loaded the library. 0 would mean half the cores.
    threads = int(cur.execute("SHOW customer_segment.threads").fetchone()[0]) or max(1, os.cpu_count() // 2)

    t_export, (x, y) = support.timed(lambda: export(cur))
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=SEED)
    params = dict(n_estimators=N_TREES, max_depth=MAX_DEPTH, min_samples_leaf=MIN_SAMPLES_LEAF,
                  max_features="sqrt", n_jobs=threads, random_state=SEED)
    t_sk, rf = support.timed(lambda: RandomForestClassifier(**params).fit(x_train, y_train), 1)
    sk_pred = rf.predict(x_test)
    t_intel = intel = intel_pred = None
    if IntelRandomForestClassifier is not None:
        t_intel, intel = support.timed(lambda: IntelRandomForestClassifier(**params).fit(x_train, y_train), 1)
        intel_pred = intel.predict(x_test)

    scan_sql = f"SELECT sum({' + '.join(FEATURES)}) FROM {TABLE}"
    apply_sql = f"SELECT sum(length(segment_classify('{MODEL}', t))) FROM {TABLE} t"
    cur.execute(scan_sql).fetchall()  # warm the cache
    t_scan, _ = support.timed(lambda: cur.execute(scan_sql).fetchall())
    t_apply, _ = support.timed(lambda: cur.execute(apply_sql).fetchall())
    plan = cur.execute(f"EXPLAIN (FORMAT json) {apply_sql}").fetchone()[0][0]["Plan"]
    workers = 0
    while plan:  # the Gather, if the plan has one, is on the aggregate's only branch
        workers = max(workers, plan.get("Workers Planned", 0))
        plan = (plan.get("Plans") or [None])[0]
    t_predict, sk_all = support.timed(lambda: rf.predict(x))
    t_intel_predict = support.timed(lambda: intel.predict(x))[0] if intel is not None else None
    # The class each side gives every row (the table is in id order, as exported): how often
    # the two forests agree.
    ours_all = np.array(cur.execute(f"SELECT segment_classify('{MODEL}', t)::int FROM {TABLE} t ORDER BY id").fetchall()).ravel()
    return dict(
        rows=ROWS, threads=threads, rows_train=ours[2], rows_test=ours[3], workers=workers,
        t_ours=t_ours, acc_ours=ours[0], f1_ours=ours[1],
        t_export=t_export, t_sk=t_sk, acc_sk=accuracy_score(y_test, sk_pred),
        f1_sk=f1_score(y_test, sk_pred, average="macro"),
        t_intel=t_intel,
        acc_intel=None if intel is None else accuracy_score(y_test, intel_pred),
        t_scan=t_scan, t_apply=t_apply, t_predict=t_predict, t_intel_predict=t_intel_predict,
        agree=float(np.mean(ours_all == sk_all)),
    )


def main():
    m = measure(psycopg.connect(DSN, autocommit=True))
    print(f"rows={m['rows']} (train {m['rows_train']}, held out {m['rows_test']}) features=8 classes={CLASSES} "
          f"trees={N_TREES} depth={MAX_DEPTH} min_samples_leaf={MIN_SAMPLES_LEAF} max_features=sqrt "
          f"threads/n_jobs={m['threads']} repeat={REPEAT} (fits once, the rest medians)")
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, cpus={os.cpu_count()}")
    close = abs(m["acc_ours"] - m["acc_sk"]) <= 0.01
    print(f"held-out accuracy: ours {m['acc_ours']:.4f}, scikit-learn {m['acc_sk']:.4f} "
          f"({'within 0.01' if close else 'NOT within 0.01: the fit ratios do not compare like with like'}); "
          f"macro F1: ours {m['f1_ours']:.4f}, scikit-learn {m['f1_sk']:.4f}"
          + ("" if m["acc_intel"] is None else f"; intelex accuracy {m['acc_intel']:.4f}"))
    print(f"the two forests give the same class to {100 * m['agree']:.1f}% of all rows")
    print()
    print(f"{'fit   segment_classify_fit (forest)':52s} {m['t_ours']:8.3f} s")
    print(f"{'      export (binary COPY -> numpy)':52s} {m['t_export']:8.3f} s")
    print(f"{'      scikit-learn RandomForestClassifier.fit':52s} {m['t_sk']:8.3f} s")
    if m["t_intel"] is not None:
        print(f"{'      scikit-learn-intelex RandomForestClassifier.fit':52s} {m['t_intel']:8.3f} s")
    print(f"{'scan  SELECT sum(f1 + ... + f8)':52s} {m['t_scan']:8.3f} s")
    print(f"{'apply sum(length(segment_classify(m, t)))':52s} {m['t_apply']:8.3f} s   "
          f"({m['workers']} parallel workers planned)")
    print(f"{'      scikit-learn predict, all rows in memory':52s} {m['t_predict']:8.3f} s")
    if m["t_intel_predict"] is not None:
        print(f"{'      scikit-learn-intelex predict, all rows':52s} {m['t_intel_predict']:8.3f} s")
    print()
    print(f"classify fit / sklearn fit            = {m['t_ours'] / m['t_sk']:.2f}")
    print(f"classify fit / (export + sklearn fit) = {m['t_ours'] / (m['t_export'] + m['t_sk']):.2f}")
    if m["t_intel"] is not None:
        print(f"classify fit / intelex fit            = {m['t_ours'] / m['t_intel']:.2f}")
    print(f"segment_classify / scan               = {m['t_apply'] / m['t_scan']:.2f}")
    print(f"segment_classify / sklearn predict    = {m['t_apply'] / m['t_predict']:.2f}")
    if m["t_intel_predict"] is not None:
        print(f"segment_classify / intelex predict    = {m['t_apply'] / m['t_intel_predict']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
