#!/usr/bin/env python3
"""Benchmark of constrained k-means (segment_fit with the min_share and max_share options of
method kmeans) against the k-means-constrained package's KMeansConstrained on the same rows, in
one run (run by benches/run.sh; BENCH_ONLY=constrained).

For each size in BENCH_CONSTRAINED_ROWS (default "20000 100000"), that many rows, seeded, from 8
latent groups of unequal sizes (30, 20, 15, 10, 10, 8, 5 and 2% of the rows): 8 float8 columns,
the group's centre (unit normal, times 1.5) plus unit noise, written with binary COPY so that
both sides read exactly the same values. Both sides: k 8, every segment between MIN_SHARE (0.08)
and MAX_SHARE (0.2) of the rows (in rows: ceil(0.08 n) and floor(0.2 n), as segment_fit counts
them, passed to the package as size_min and size_max), N_INIT starts (BENCH_CONSTRAINED_N_INIT,
default 3), max_iter 300, tol 1e-4, the columns z-scored with the population standard deviation
(ours by its default scaler, the package's by the export here). One thread each: the package
with n_jobs > 1 fails on arrays this size (joblib hands its workers read-only memory maps, which
its Cython code refuses: "buffer source array is read-only"), so it runs with n_jobs 1 and our
fit with customer_segment.threads 1; our fit on every core (the database's setting, which run.sh
sets to one per core) is printed beside it.
  fit:  segment_fit (reads the rows, scales, fits, labels every row, profile, silhouette, stores)
        against KMeansConstrained.fit on the in-memory array, alone and with the export
        (binary COPY -> numpy, z-scores); each side's cost and the ratio ours / theirs (ours
        should be <= 1.01). Ours: the fit's inertia. Theirs: the squared distances of its rows
        to the means of its segments (the least cost of its partition; its own inertia_ is of
        the centres of its last step, at least as high), and its inertia_ beside it.
  sizes: each side's smallest and largest segment, which must be within the bounds.
The package builds a min-cost-flow graph of n x k arcs for OR-tools at every iteration, so its
fit runs once; ours is the median of REPEAT runs. Only ratios are comparable between machines;
a time ratio means something only when the costs are close.
"""
import math
import os
import sys

import numpy as np
import psycopg

import support

DSN = os.environ["BENCH_DSN"]
SIZES = [int(s) for s in os.environ.get("BENCH_CONSTRAINED_ROWS", "20000 100000").split()]
N_INIT = int(os.environ.get("BENCH_CONSTRAINED_N_INIT", 3))
REPEAT = support.REPEAT
K, D, MAX_ITER, TOL, SEED = 8, 8, 300, 1e-4, 0
MIN_SHARE, MAX_SHARE = 0.08, 0.2
GROUP_SHARES = [0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02]
FEATURES = [f"f{j + 1}" for j in range(D)]
FIELDS = sum(([(f"l{f}", ">i4"), (f, ">f8")] for f in FEATURES), [])


def table(rows):
    return f"bench_constrained_{rows}"


def make_table(cur, rows):
    """The rows (kept when the table has `rows` rows)."""
    name = table(rows)
    if support.has_rows(cur, name, rows):
        return
    rng = np.random.default_rng(SEED)
    group = rng.choice(K, size=rows, p=GROUP_SHARES)
    centres = rng.normal(0.0, 1.5, (K, D))
    x = centres[group] + rng.normal(0.0, 1.0, (rows, D))
    cur.execute(f"DROP TABLE IF EXISTS {name}")
    cur.execute(f"CREATE TABLE {name} ({', '.join(f + ' float8' for f in FEATURES)})")
    rec = np.zeros(rows, dtype=[("n", ">i2")] + FIELDS)
    rec["n"] = D
    for j, f in enumerate(FEATURES):
        rec[f"l{f}"], rec[f] = 8, x[:, j]
    support.copy_in(cur, name, rec)
    cur.execute(f"VACUUM ANALYZE {name}")


def export(cur, rows):
    """The rows z-scored (population standard deviation), the fastest way psycopg offers."""
    rec = support.copy_out(cur, f"SELECT {', '.join(FEATURES)} FROM {table(rows)}", [("n", ">i2")] + FIELDS)
    x = np.column_stack([rec[f].astype(np.float64) for f in FEATURES])
    return (x - x.mean(axis=0)) / x.std(axis=0)


def measure(conn, rows):
    from k_means_constrained import KMeansConstrained

    cur = conn.cursor()
    cur.execute("SET customer_segment.progress = off")
    make_table(cur, rows)
    size_min = max(1, math.ceil(MIN_SHARE * rows - 1e-9))
    size_max = math.floor(MAX_SHARE * rows + 1e-9)
    options = (f'{{"min_share": {MIN_SHARE}, "max_share": {MAX_SHARE}, "n_init": {N_INIT}, '
               f'"max_iter": {MAX_ITER}, "tol": {TOL}, "seed": {SEED}}}')
    features = "ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "]"
    model = table(rows)
    fit_sql = f"SELECT inertia FROM segment_fit('{table(rows)}', {features}, {K}, name => '{model}', options => '{options}')"
    cur.execute(fit_sql)  # warm: the table's pages and the library
    threads = int(cur.execute("SHOW customer_segment.threads").fetchone()[0]) or max(1, os.cpu_count() // 2)
    t_all, _ = support.timed(lambda: cur.execute(fit_sql).fetchone()[0])
    cur.execute("SET customer_segment.threads = 1")
    t_ours, cost_ours = support.timed(lambda: cur.execute(fit_sql).fetchone()[0])
    cur.execute("RESET customer_segment.threads")
    sizes_ours = [r[1] for r in cur.execute(
        f"SELECT DISTINCT segment, size FROM segment_profile('{model}') ORDER BY segment").fetchall()]

    t_export, x = support.timed(lambda: export(cur, rows))
    t_theirs, kmc = support.timed(lambda: KMeansConstrained(
        n_clusters=K, size_min=size_min, size_max=size_max, n_init=N_INIT, max_iter=MAX_ITER, tol=TOL,
        random_state=SEED, n_jobs=1).fit(x), 1)
    labels = kmc.labels_
    means = np.array([x[labels == c].mean(axis=0) for c in range(K)])
    cost_theirs = float(((x - means[labels]) ** 2).sum())
    sizes_theirs = np.bincount(labels, minlength=K).tolist()
    return dict(rows=rows, threads=threads, size_min=size_min, size_max=size_max,
                t_ours=t_ours, t_all=t_all, cost_ours=float(cost_ours), sizes_ours=sizes_ours,
                t_export=t_export, t_theirs=t_theirs, cost_theirs=cost_theirs,
                inertia_theirs=float(kmc.inertia_), sizes_theirs=sizes_theirs)


def main():
    import k_means_constrained

    conn = psycopg.connect(DSN, autocommit=True)
    print(f"k={K} features={D} groups {GROUP_SHARES} min_share={MIN_SHARE} max_share={MAX_SHARE} "
          f"n_init={N_INIT} max_iter={MAX_ITER} repeat={REPEAT} (the package's fit once, ours the median)")
    print(f"k-means-constrained {k_means_constrained.__version__}, numpy {np.__version__}, cpus={os.cpu_count()}")
    for rows in SIZES:
        m = measure(conn, rows)
        lo, hi = m["size_min"], m["size_max"]
        within = lambda s: lo <= min(s) and max(s) <= hi
        print()
        print(f"rows={rows} (segments of {lo} to {hi} rows), threads/n_jobs 1 (ours also on {m['threads']} threads)")
        ratio = m["cost_ours"] / m["cost_theirs"]
        print(f"cost: ours {m['cost_ours']:.2f}, k-means-constrained {m['cost_theirs']:.2f} "
              f"(its inertia_ {m['inertia_theirs']:.2f}), ours / theirs = {ratio:.4f}"
              + ("" if ratio <= 1.01 else "  NOTE: ours is more than 1% above its cost"))
        print(f"sizes: ours {sorted(m['sizes_ours'], reverse=True)}"
              f"{'' if within(m['sizes_ours']) else '  NOTE: outside the bounds'}, "
              f"theirs {sorted(m['sizes_theirs'], reverse=True)}"
              f"{'' if within(m['sizes_theirs']) else '  NOTE: outside the bounds'}")
        print(f"{'  segment_fit (min_share, max_share), 1 thread':48s} {m['t_ours']:8.3f} s")
        print(f"{'  segment_fit, ' + str(m['threads']) + ' threads':48s} {m['t_all']:8.3f} s")
        print(f"{'  export (binary COPY -> numpy, z-scores)':48s} {m['t_export']:8.3f} s")
        print(f"{'  KMeansConstrained.fit':48s} {m['t_theirs']:8.3f} s")
        print(f"  segment_fit / KMeansConstrained.fit            = {m['t_ours'] / m['t_theirs']:.4f}")
        print(f"  segment_fit / (export + KMeansConstrained.fit) = {m['t_ours'] / (m['t_export'] + m['t_theirs']):.4f}")
        print(f"  cost ours / theirs                             = {ratio:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
