#!/usr/bin/env python3
"""Independent reference for the k-means quality test (tests/pg_regress/sql/quality.sql).

scikit-learn's KMeans on the wholesale customers (tests/data/wholesale_customers): the six spend
columns, log1p, z-scored (StandardScaler: population standard deviation, as customer_segment's
zscore), k = 2..6, best of 10 k-means++ starts (n_init=10, random_state=0, tol=1e-4,
max_iter=300). Writes, next to this file:
  wholesale_kmeans_inertia.csv   k,inertia,silhouette,calinski_harabasz,davies_bouldin
                                 (inertia_ of the best of 10 starts; the scores of its labels)
  wholesale_kmeans_labels.csv    customer_id,label_k2,label_k3   (customer_id = 1-based CSV row)
  wholesale_kmeans_anova.csv     feature,f   (f_classif of the log1p spend, unscaled, by the k = 3
                                 labels: the ANOVA F that segment_profile reports)
Made with: python3 tests/reference/wholesale_kmeans.py (scikit-learn 1.x, numpy 2.x). The outputs
are committed; the test suite does not run this script, it reads what it wrote.
"""
import csv
import os

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.feature_selection import f_classif
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "wholesale_customers", "wholesale_customers.csv")
SPEND = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]

with open(DATA, newline="") as f:
    rows = list(csv.DictReader(f))
log_spend = np.log1p(np.array([[float(r[c]) for c in SPEND] for r in rows]))
x = StandardScaler().fit_transform(log_spend)

labels = {}
with open(os.path.join(HERE, "wholesale_kmeans_inertia.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin"])
    for k in range(2, 7):
        km = KMeans(n_clusters=k, n_init=10, random_state=0, tol=1e-4, max_iter=300).fit(x)
        w.writerow([k, repr(float(km.inertia_)), repr(float(silhouette_score(x, km.labels_))),
                    repr(float(calinski_harabasz_score(x, km.labels_))),
                    repr(float(davies_bouldin_score(x, km.labels_)))])
        labels[k] = km.labels_

with open(os.path.join(HERE, "wholesale_kmeans_labels.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "label_k2", "label_k3"])
    for i in range(len(rows)):
        w.writerow([i + 1, int(labels[2][i]), int(labels[3][i])])

with open(os.path.join(HERE, "wholesale_kmeans_anova.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["feature", "f"])
    for name, value in zip(SPEND, f_classif(log_spend, labels[3])[0]):
        w.writerow([name.lower(), repr(float(value))])

print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}: wrote references for k = 2..6")
