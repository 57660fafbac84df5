#!/usr/bin/env python3
"""Benchmark of segment_fit (method kprototypes) and segment_assign against the kmodes package's
KPrototypes on the same rows, in one run (run by benches/run.sh; targets.py's "mixed"
group).

ROWS (BENCH_MIXED_ROWS, default 25,000) mixed rows, seeded, from K = 5 latent
groups of unequal sizes: 4 float8 columns n1..n4 (the group's centre plus unit noise, in units
1, 10, 100 and 1000, so scaling matters) and 4 text columns c1..c4 with 3, 5, 8 and 12 levels
(the group's own level with probability 0.5, else any level), written into a table with binary
COPY, so both sides read exactly the same values. Both sides: k 5, N_INIT starts
(BENCH_MIXED_N_INIT, default 10), max_iter 100, the numbers z-scored with the population
standard deviation (ours by its default scaler, the peer's by the export here: kmodes uses
numbers as given), the same gamma (ours picks its default, 0.5 x the mean standard deviation
of the scaled numbers, as kmodes does; it is read from the model's metrics and passed to
KPrototypes explicitly). kmodes: init 'Cao', n_jobs = the threads of our fit
(customer_segment.threads, which run.sh sets to one per core).
  fit:     segment_fit (reads the rows, scales, fits, assigns every row, profile, silhouette,
           stores) against KPrototypes.fit on the in-memory matrix, alone and with the export
           (binary COPY -> numpy, z-scores, the object matrix kmodes takes); each side's cost
           (ours: the fit's inertia, which is the k-prototypes cost; kmodes: cost_) and the
           ratio ours / kmodes (ours should be <= 1.01 x kmodes')
  assign:  SELECT sum(segment_assign(model, t)) FROM t (parallel plans allowed) against the
           scan SELECT sum(n1 + ... + n4 + length(c1) + ... + length(c4)) FROM t, and against
           KPrototypes.predict on all the rows in memory
kmodes moves rows one at a time in a Python loop (about 55 us a row and iteration; on 2 cores
with n_jobs 2, 10 starts took 85 s on 25,000 rows, 6.4 minutes on 50,000, and 2 starts 5
minutes on 100,000), so its fit runs once; our fit, the export, the scan, the assign and the
predict are medians of REPEAT runs. Only ratios are comparable between machines; the fit ratios mean
something only when the costs are close.
"""
import os
import sys

import kmodes
import numpy as np
import psycopg
from kmodes.kprototypes import KPrototypes
from sklearn.metrics import adjusted_rand_score

import support

DSN = os.environ["BENCH_DSN"]
ROWS = int(os.environ.get("BENCH_MIXED_ROWS", 25_000))
N_INIT = int(os.environ.get("BENCH_MIXED_N_INIT", 10))
REPEAT = support.REPEAT
TABLE, MODEL = "bench_kprototypes", "bench_kprototypes"
K, MAX_ITER, SEED = 5, 100, 0
NUMERIC = ["n1", "n2", "n3", "n4"]
CATEGORICAL = ["c1", "c2", "c3", "c4"]
LEVELS = [3, 5, 8, 12]
UNITS = [1.0, 10.0, 100.0, 1000.0]
GROUP_SHARES = [0.3, 0.25, 0.2, 0.15, 0.1]
FEATURES = NUMERIC + CATEGORICAL
# A row in COPY's binary format (see support.py): per column a length and the value. Every
# level is "cJ_LL" (5 bytes), so a row has a fixed size.
WIDTH = 5
FIELDS = (sum(([(f"l{f}", ">i4"), (f, ">f8")] for f in NUMERIC), [])
          + sum(([(f"l{c}", ">i4"), (c, f"S{WIDTH}")] for c in CATEGORICAL), []))



def make_table(cur):
    """The mixed rows (kept when the table has ROWS rows); the latent group in column `grp`."""
    if support.has_rows(cur, TABLE, ROWS):
        return
    rng = np.random.default_rng(SEED)
    group = rng.choice(K, size=ROWS, p=GROUP_SHARES)
    centres = rng.normal(0.0, 1.5, (K, len(NUMERIC)))
    numbers = (centres[group] + rng.normal(0.0, 1.0, (ROWS, len(NUMERIC)))) * UNITS + 5 * np.array(UNITS)
    cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cur.execute(f"CREATE TABLE {TABLE} (id bigint, {', '.join(f + ' float8' for f in NUMERIC)}, "
                f"{', '.join(c + ' text' for c in CATEGORICAL)}, grp int)")
    rec = np.zeros(ROWS, dtype=[("n", ">i2"), ("lid", ">i4"), ("id", ">i8")] + FIELDS + [("lg", ">i4"), ("grp", ">i4")])
    rec["n"], rec["lid"], rec["id"], rec["lg"], rec["grp"] = 2 + len(FEATURES), 8, np.arange(1, ROWS + 1), 4, group
    for j, f in enumerate(NUMERIC):
        rec[f"l{f}"], rec[f] = 8, numbers[:, j]
    for j, (c, levels) in enumerate(zip(CATEGORICAL, LEVELS)):
        own = rng.integers(0, levels, K)
        level = np.where(rng.random(ROWS) < 0.5, own[group], rng.integers(0, levels, ROWS))
        names = np.array([f"{c}_{v:02d}".encode() for v in range(levels)], dtype=f"S{WIDTH}")
        rec[f"l{c}"], rec[c] = WIDTH, names[level]
    support.copy_in(cur, TABLE, rec)
    cur.execute(f"VACUUM ANALYZE {TABLE}")


def export(cur):
    """The matrix KPrototypes takes (z-scored numbers in columns 0..3, the categories as strings
    in 4..7, an object array) and the latent groups, the fastest way psycopg offers."""
    rec = support.copy_out(cur, f"SELECT {', '.join(FEATURES)}, grp FROM {TABLE}",
                               [("n", ">i2")] + FIELDS + [("lg", ">i4"), ("grp", ">i4")])
    numbers = np.column_stack([rec[f].astype(np.float64) for f in NUMERIC])
    numbers = (numbers - numbers.mean(axis=0)) / numbers.std(axis=0)  # population sd (ddof 0)
    x = np.empty((len(rec), len(FEATURES)), dtype=object)
    x[:, :len(NUMERIC)] = numbers
    for j, c in enumerate(CATEGORICAL):
        x[:, len(NUMERIC) + j] = rec[c].astype(str).astype(object)
    return x, rec["grp"].astype(np.int64)


def measure(conn):
    """The table (made once), the fits and the assigns; returns the figures."""
    cur = conn.cursor()
    cur.execute("SET customer_segment.progress = off")
    make_table(cur)
    options = f'{{"method": "kprototypes", "n_init": {N_INIT}, "max_iter": {MAX_ITER}, "seed": {SEED}}}'
    features = "ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "]"
    t_ours, cost_ours = support.timed(lambda: cur.execute(
        f"SELECT inertia FROM segment_fit('{TABLE}', {features}, {K}, name => '{MODEL}', "
        f"options => '{options}')").fetchone()[0])
    gamma, converged = cur.execute(
        "SELECT (metrics->>'gamma')::float8, (metrics->>'converged')::bool FROM segment_models "
        "WHERE name = %s ORDER BY version DESC LIMIT 1", (MODEL,)).fetchone()
    # The fit's threads (run.sh sets every core for the bench database); known once the fit has
    # loaded the library. 0 would mean half the cores.
    threads = int(cur.execute("SHOW customer_segment.threads").fetchone()[0]) or max(1, os.cpu_count() // 2)

    t_export, (x, group) = support.timed(lambda: export(cur))
    categorical = list(range(len(NUMERIC), len(FEATURES)))
    gamma_kmodes = 0.5 * float(np.mean(x[:, :len(NUMERIC)].astype(np.float64).std(axis=0)))
    t_kmodes, kp = support.timed(lambda: KPrototypes(n_clusters=K, init="Cao", n_init=N_INIT, gamma=gamma, max_iter=MAX_ITER,
                                             random_state=SEED, n_jobs=threads).fit(x, categorical=categorical), 1)

    scan_sql = (f"SELECT sum({' + '.join(NUMERIC)} + {' + '.join(f'length({c})' for c in CATEGORICAL)}) "
                f"FROM {TABLE}")
    assign_sql = f"SELECT sum(segment_assign('{MODEL}', t)) FROM {TABLE} t"
    cur.execute(scan_sql).fetchall()  # warm the cache
    t_scan, _ = support.timed(lambda: cur.execute(scan_sql).fetchall())
    t_assign, _ = support.timed(lambda: cur.execute(assign_sql).fetchall())
    plan = cur.execute(f"EXPLAIN (FORMAT json) {assign_sql}").fetchone()[0][0]["Plan"]
    workers = 0
    while plan:  # the Gather, if the plan has one, is on the aggregate's only branch
        workers = max(workers, plan.get("Workers Planned", 0))
        plan = (plan.get("Plans") or [None])[0]
    t_predict, kmodes_all = support.timed(lambda: kp.predict(x, categorical=categorical))
    # Each side's segment of every row (the table is in id order, as exported): how alike the
    # two partitions are, and how well each finds the latent groups (adjusted Rand index).
    ours_all = np.array(cur.execute(f"SELECT segment_assign('{MODEL}', t) FROM {TABLE} t ORDER BY id").fetchall()).ravel()
    return dict(
        rows=ROWS, n_init=N_INIT, threads=threads, workers=workers, gamma=gamma, gamma_kmodes=gamma_kmodes,
        t_ours=t_ours, cost_ours=float(cost_ours), converged=converged,
        t_export=t_export, t_kmodes=t_kmodes, cost_kmodes=float(kp.cost_), n_iter_kmodes=int(kp.n_iter_),
        t_scan=t_scan, t_assign=t_assign, t_predict=t_predict,
        ari_between=adjusted_rand_score(ours_all, kmodes_all),
        ari_ours=adjusted_rand_score(group, ours_all), ari_kmodes=adjusted_rand_score(group, kmodes_all),
    )


def main():
    m = measure(psycopg.connect(DSN, autocommit=True))
    print(f"rows={m['rows']} numeric={len(NUMERIC)} categorical={len(CATEGORICAL)} (levels {LEVELS}) k={K} "
          f"n_init={m['n_init']} max_iter={MAX_ITER} threads/n_jobs={m['threads']} repeat={REPEAT} "
          f"(kmodes fit once, the rest medians)")
    print(f"kmodes {kmodes.__version__}, numpy {np.__version__}, cpus={os.cpu_count()}")
    print(f"gamma: ours {m['gamma']:.6f} (passed to kmodes), kmodes' own default on the same z-scores "
          f"{m['gamma_kmodes']:.6f}")
    ratio = m["cost_ours"] / m["cost_kmodes"]
    print(f"cost: ours {m['cost_ours']:.3f}{'' if m['converged'] else ' (not converged)'}, "
          f"kmodes {m['cost_kmodes']:.3f} (n_iter {m['n_iter_kmodes']}), ours / kmodes = {ratio:.4f}"
          + ("" if ratio <= 1.01 else "  NOTE: ours is more than 1% above kmodes' cost"))
    print(f"adjusted Rand index: ours vs kmodes {m['ari_between']:.4f}; against the latent groups "
          f"ours {m['ari_ours']:.4f}, kmodes {m['ari_kmodes']:.4f}")
    print()
    print(f"{'fit    segment_fit (kprototypes)':52s} {m['t_ours']:8.3f} s")
    print(f"{'       export (binary COPY -> numpy, z-scores)':52s} {m['t_export']:8.3f} s")
    print(f"{'       kmodes KPrototypes.fit':52s} {m['t_kmodes']:8.3f} s")
    print(f"{'scan   SELECT sum(n1 + ... + length(c4))':52s} {m['t_scan']:8.3f} s")
    print(f"{'assign sum(segment_assign(m, t))':52s} {m['t_assign']:8.3f} s   "
          f"({m['workers']} parallel workers planned)")
    print(f"{'       kmodes predict, all rows in memory':52s} {m['t_predict']:8.3f} s")
    print()
    print(f"kprototypes fit / kmodes fit            = {m['t_ours'] / m['t_kmodes']:.4f}")
    print(f"kprototypes fit / (export + kmodes fit) = {m['t_ours'] / (m['t_export'] + m['t_kmodes']):.4f}")
    print(f"segment_assign / scan                   = {m['t_assign'] / m['t_scan']:.2f}")
    print(f"segment_assign / kmodes predict         = {m['t_assign'] / m['t_predict']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
