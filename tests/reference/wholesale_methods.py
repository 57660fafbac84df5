#!/usr/bin/env python3
"""Independent reference for the gmm, hierarchical and dbscan methods (tests/pg_regress/sql/methods.sql).

Same matrix as wholesale_kmeans.py: the six spend columns of tests/data/wholesale_customers,
log1p, z-scored with the population standard deviation. Writes, next to this file:
  wholesale_gmm.csv            k,log_likelihood,bic   GaussianMixture(full covariance, best of 10
                               k-means starts, tol 1e-4, max_iter 300, reg_covar 1e-6): score() is
                               the mean log-likelihood per row; bic() the BIC.
  wholesale_ward_labels.csv    customer_id,label_k3   AgglomerativeClustering(3, linkage="ward")
  wholesale_dbscan_labels.csv  customer_id,label      DBSCAN(eps=0.9, min_samples=5); -1 is noise
Made with: python3 tests/reference/wholesale_methods.py (scikit-learn 1.x, numpy 2.x). The outputs
are committed; the test suite reads them and does not run this script.
"""
import csv
import os

import numpy as np
import sklearn
from sklearn.cluster import DBSCAN, AgglomerativeClustering
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "wholesale_customers", "wholesale_customers.csv")
SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]

with open(DATA, newline="") as f:
    rows = list(csv.DictReader(f))
x = StandardScaler().fit_transform(np.log1p(np.array([[float(r[c]) for c in SPEND] for r in rows])))

with open(os.path.join(HERE, "wholesale_gmm.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["k", "log_likelihood", "bic"])
    for k in (2, 3, 4):
        gm = GaussianMixture(n_components=k, covariance_type="full", tol=1e-4, max_iter=300,
                             n_init=10, reg_covar=1e-6, random_state=0).fit(x)
        w.writerow([k, repr(float(gm.score(x))), repr(float(gm.bic(x)))])

ward = AgglomerativeClustering(n_clusters=3, linkage="ward").fit_predict(x)
with open(os.path.join(HERE, "wholesale_ward_labels.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "label_k3"])
    for i, l in enumerate(ward):
        w.writerow([i + 1, int(l)])

db = DBSCAN(eps=0.9, min_samples=5).fit_predict(x)
with open(os.path.join(HERE, "wholesale_dbscan_labels.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "label"])
    for i, l in enumerate(db):
        w.writerow([i + 1, int(l)])

print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}: gmm k=2..4, ward k=3, "
      f"dbscan {len(set(db) - {-1})} clusters and {int((db == -1).sum())} noise rows")
