#!/usr/bin/env python3
"""Independent references for the adapting test (tests/pg_regress/sql/adapting.sql): anomaly
thresholds, an incremental update and a warm refit, computed with scikit-learn and numpy on the
wholesale customers (tests/data/wholesale_customers): the six spend columns, log1p, z-scored
(StandardScaler: population standard deviation, as customer_segment's zscore), k = 3 (a unique
optimum: quality.sql checks that our k-means finds scikit-learn's).

Writes, next to this file:
  adapting_anomaly.csv   contamination,threshold,anomalies
      KMeans(3, n_init=10, random_state=0) on all 440 rows; each row's distance to its own
      centre (min of km.transform); threshold = numpy.quantile(distance, 1 - contamination)
      (linear interpolation); anomalies = rows strictly above it.
  adapting_update.csv    segment_size,new_rows,feature,centre
      The "old" customers are rows 1..400, the "new" ones rows 401..440. KMeans(3) on the old
      rows (scaled by the old rows), then scikit-learn's MiniBatchKMeans.partial_fit on the new
      rows (scaled by the old rows' scaler) from that state: cluster_centers_ the KMeans
      centres, _counts its segment sizes, reassignment_ratio 0. The centres after the update in
      original units (inverse scaling, expm1), keyed by the segment's size in the old fit and
      its new rows (196 and 16, 127 and 18, 77 and 6), since segment ids are ours.
  adapting_refit.csv     rows,inertia
      KMeans(3, n_init=10) on all 440 rows scaled by themselves (what a warm refit must reach).
Made with: python3 tests/reference/adapting_reference.py (scikit-learn 1.9, numpy 2.4). The outputs
are committed; the test suite reads them.
"""
import csv
import os

import numpy as np
import sklearn
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "wholesale_customers", "wholesale_customers.csv")
SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
OLD = 400

with open(DATA, newline="") as f:
    rows = list(csv.DictReader(f))
log_spend = np.log1p(np.array([[float(r[c]) for c in SPEND] for r in rows]))

# Anomalies on every row.
x = StandardScaler().fit_transform(log_spend)
km = KMeans(n_clusters=3, n_init=10, random_state=0, tol=1e-4, max_iter=300).fit(x)
distance = km.transform(x).min(axis=1)
with open(os.path.join(HERE, "adapting_anomaly.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["contamination", "threshold", "anomalies"])
    for c in (0.01, 0.05):
        t = float(np.quantile(distance, 1 - c))
        w.writerow([c, repr(t), int((distance > t).sum())])
with open(os.path.join(HERE, "adapting_refit.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["rows", "inertia"])
    w.writerow([len(rows), repr(float(km.inertia_))])

# The update: a fit on the old rows, then one partial_fit on the new ones.
scaler = StandardScaler().fit(log_spend[:OLD])
old, new = scaler.transform(log_spend[:OLD]), scaler.transform(log_spend[OLD:])
first = KMeans(n_clusters=3, n_init=10, random_state=0, tol=1e-4, max_iter=300).fit(old)
sizes = np.bincount(first.labels_, minlength=3)
mb = MiniBatchKMeans(n_clusters=3, reassignment_ratio=0.0, random_state=0, n_init=1)
mb.partial_fit(old[:3])  # sets up the estimator's state; replaced just below
mb.cluster_centers_ = first.cluster_centers_.copy()
mb._counts = sizes.astype(float)
mb._n_since_last_reassign = 0
mb.partial_fit(new)
centres = np.expm1(scaler.inverse_transform(mb.cluster_centers_))
with open(os.path.join(HERE, "adapting_update.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["segment_size", "new_rows", "feature", "centre"])
    label = ((new[:, None, :] - first.cluster_centers_[None]) ** 2).sum(-1).argmin(1)
    new_rows = np.bincount(label, minlength=3)
    for c in range(3):
        for j, name in enumerate(SPEND):
            w.writerow([int(sizes[c]), int(new_rows[c]), name.lower(), repr(float(centres[c, j]))])

# The same update by the formula, to show what partial_fit did: c' = (w c + s) / (w + m).
label = ((new[:, None, :] - first.cluster_centers_[None]) ** 2).sum(-1).argmin(1)
by_hand = first.cluster_centers_.copy()
for c in range(3):
    m = (label == c).sum()
    if m:
        by_hand[c] = (sizes[c] * by_hand[c] + new[label == c].sum(0)) / (sizes[c] + m)
assert np.allclose(by_hand, mb.cluster_centers_, rtol=1e-12, atol=1e-12), (by_hand, mb.cluster_centers_)
print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}: sizes {sizes.tolist()}, "
      f"new rows per segment {np.bincount(label, minlength=3).tolist()}")
