#!/usr/bin/env python3
"""Independent reference for constrained k-means (options min_share and max_share of method kmeans).

The k-means-constrained package (KMeansConstrained: Bradley, Bennett and Demiriz's constrained
k-means, each assignment step a min-cost flow solved by OR-tools) on:
  wholesale  tests/data/wholesale_customers/wholesale_customers.csv, the six spend columns
             (Fresh, Milk, Grocery, Frozen, Detergents_Paper, Delicassen) as they are, 440 rows;
  bank       tests/data/bank_marketing/bank.csv, its numeric columns (age, balance, day, duration,
             campaign, pdays, previous), 4521 rows;
each column z-scored with the population standard deviation (ddof 0), as customer_segment's
scale zscore does: (x - mean) / std.

Size bounds from shares as customer_segment computes them for n rows and k segments:
size_min = ceil(min_share * n - 1e-9) (at least 1), size_max = floor(max_share * n + 1e-9) (n when
max_share is not given); no setting below needs the equal-sizes fallback. Every run: n_init 10,
max_iter 300, tol 1e-4, random_state 0.

Writes constrained_reference.csv: data, k, min_share, max_share (empty: not given), size_min,
size_max, inertia (the package's inertia_: the sum of squared distances of its labelled rows to
the centres of its last assignment step, which are not always the cluster_centers_ it returns),
within_ss (the sum of squared distances of its labelled rows to their segment's mean: the least
cost of its partition for any centres, so at most inertia), sizes (the segments' sizes, largest
first, separated by ';'). The tests hold our cost against within_ss, the lower of the two.
The package's assignment step minimises the sum of (unsquared) distances rounded to thousandths,
not of squared distances, so its inertia is not the least for its centres: ours may be lower.

Made with: python3 tests/reference/constrained_reference.py (k-means-constrained 0.9.1,
ortools 9.15, numpy 2.x; a few seconds). The output is committed; the tests read it.
"""
import csv
import math
import os

import numpy as np
from k_means_constrained import KMeansConstrained

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
SETS = {
    "wholesale": ("wholesale_customers/wholesale_customers.csv",
                  ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]),
    "bank": ("bank_marketing/bank.csv",
             ["age", "balance", "day", "duration", "campaign", "pdays", "previous"]),
}
RUNS = [
    ("wholesale", 3, None, 0.4),
    ("wholesale", 4, 0.1, 0.5),
    ("wholesale", 5, 0.15, None),
    ("bank", 4, 0.2, 0.3),
    ("bank", 6, 0.1, 0.25),
    ("bank", 8, 0.05, None),
]


def zscored(name):
    path, columns = SETS[name]
    with open(os.path.join(DATA, path), newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r[c]) for c in columns] for r in rows])
    return (x - x.mean(axis=0)) / x.std(axis=0)


def bounds(n, k, min_share, max_share):
    lo = max(1, math.ceil(min_share * n - 1e-9)) if min_share is not None else 1
    hi = math.floor(max_share * n + 1e-9) if max_share is not None else n
    assert lo * k <= n <= hi * k
    return lo, hi


with open(os.path.join(HERE, "constrained_reference.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["data", "k", "min_share", "max_share", "size_min", "size_max", "inertia",
                "within_ss", "sizes"])
    for name, k, min_share, max_share in RUNS:
        x = zscored(name)
        lo, hi = bounds(len(x), k, min_share, max_share)
        model = KMeansConstrained(n_clusters=k, size_min=lo, size_max=hi, n_init=10, max_iter=300,
                                  tol=1e-4, random_state=0).fit(x)
        sizes = sorted(np.bincount(model.labels_, minlength=k).tolist(), reverse=True)
        assert lo <= min(sizes) and max(sizes) <= hi
        means = np.array([x[model.labels_ == c].mean(axis=0) for c in range(k)])
        within = float(((x - means[model.labels_]) ** 2).sum())
        assert within <= model.inertia_ * (1 + 1e-12)
        w.writerow([name, k, "" if min_share is None else min_share,
                    "" if max_share is None else max_share, lo, hi, repr(float(model.inertia_)),
                    repr(within), ";".join(map(str, sizes))])
        print(name, k, min_share, max_share, lo, hi, model.inertia_, within, sizes)
