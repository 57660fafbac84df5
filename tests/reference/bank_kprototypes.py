#!/usr/bin/env python3
"""Independent reference for k-prototypes on the bank marketing contacts.

kmodes' KPrototypes (Huang's k-prototypes for mixed numeric and categorical data) on
tests/data/bank_marketing/bank.csv (4521 rows). Numeric features age, balance, duration, campaign,
each z-scored here with the population standard deviation (ddof 0): (x - mean) / std; kmodes
itself does not scale numbers, it uses them as given. Categorical features job, marital,
education, housing, loan, contact, as strings. The matrix handed to fit() holds the four numbers
in columns 0..3 and the six categories in columns 4..9 (categorical=[4, 5, 6, 7, 8, 9]).

gamma, the weight of one category mismatch against squared numeric distance, is what kmodes
would pick by default, 0.5 * mean of the numeric columns' population standard deviations, which on
z-scored columns is 0.5 (up to rounding); it is computed here and passed explicitly.

The cost (kmodes' cost_, the objective Huang (1998) defines: Z. Huang, "Extensions to the k-means
algorithm for clustering large data sets with categorical values", Data Mining and Knowledge
Discovery 2(3), 1998, P(W, Q)):
    cost = sum over rows i of [ sum over numeric features j of (x_ij - q_lj)^2
                                + gamma * number of categorical features j with x_ij != q_lj ]
with l = labels_[i] the row's cluster and q_l its prototype (cluster_centroids_[l]: the numeric
means then the categorical modes). The squared Euclidean distance is not square-rooted, and labels_
is the nearest prototype of each row under that same distance (lowest cluster index on ties).
n_init 10 starts; kmodes keeps the run with the lowest cost and reports its cost_ and n_iter_
(iterations of that run). The script recomputes the cost from cluster_centroids_ and labels_ and
asserts it equals cost_ to 1e-6 relative.

Runs, all with max_iter 100, random_state 0, n_jobs 1: init 'Cao' for k = 3, 4, 5 and init 'Huang'
for k = 4. (Either init chooses only the categorical part of the starting prototypes; the numeric
part is drawn at random, mean + N(0, 1) * std per column, so the ten 'Cao' starts differ too.)
Writes k, init, gamma, cost, n_iter to bank_kprototypes_cost.csv.
Made with: python3 tests/reference/bank_kprototypes.py (kmodes 0.12.2, scikit-learn 1.9.1,
numpy 2.4.6; about two minutes). The output is committed; the test suite reads it and does not run
this script.
"""
import csv
import os

import kmodes
import numpy as np
from kmodes.kprototypes import KPrototypes

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "bank_marketing", "bank.csv")
NUMERIC = ["age", "balance", "duration", "campaign"]
CATEGORICAL = ["job", "marital", "education", "housing", "loan", "contact"]
RUNS = [(3, "Cao"), (4, "Cao"), (5, "Cao"), (4, "Huang")]

with open(DATA, newline="") as f:
    rows = list(csv.DictReader(f))
numbers = np.array([[float(r[c]) for c in NUMERIC] for r in rows])
numbers = (numbers - numbers.mean(axis=0)) / numbers.std(axis=0)
categories = np.array([[r[c] for c in CATEGORICAL] for r in rows], dtype=object)
x = np.empty((len(rows), len(NUMERIC) + len(CATEGORICAL)), dtype=object)
x[:, :len(NUMERIC)] = numbers
x[:, len(NUMERIC):] = categories
categorical = list(range(len(NUMERIC), len(NUMERIC) + len(CATEGORICAL)))
gamma = 0.5 * float(np.mean(numbers.std(axis=0)))


def recomputed_cost(model):
    """Huang's cost from the fitted prototypes and labels, independently of kmodes' own sum."""
    # cluster_centroids_ is np.hstack(numeric means, decoded categorical modes): the numeric
    # features first, then the categorical ones in the order of `categorical`, whatever their
    # column positions in x. The hstack of floats and strings is a string array, so the numbers
    # are parsed back (numpy writes them round-trip exact; checked against the encoded copy).
    centroids = model.cluster_centroids_
    means = centroids[:, :len(NUMERIC)].astype(np.float64)
    assert np.array_equal(means, model._enc_cluster_centroids[0])
    modes = centroids[:, len(NUMERIC):]
    labels = model.labels_.astype(np.intp)
    squared = ((numbers - means[labels]) ** 2).sum(axis=1)
    mismatched = (categories.astype(str) != modes[labels].astype(str)).sum(axis=1)
    return float((squared + model.gamma * mismatched).sum())


results = []
for k, init in RUNS:
    model = KPrototypes(n_clusters=k, init=init, n_init=10, gamma=gamma, max_iter=100,
                        random_state=0, n_jobs=1)
    model.fit(x, categorical=categorical)
    cost = float(model.cost_)
    check = recomputed_cost(model)
    assert abs(check - cost) <= 1e-6 * abs(cost), (k, init, cost, check)
    results.append((k, init, model.gamma, cost, int(model.n_iter_)))
    print(f"k {k} init {init}: cost {cost:.6f} (recomputed {check:.6f}), n_iter {model.n_iter_}, "
          f"sizes {np.bincount(model.labels_.astype(np.intp), minlength=k).tolist()}")

with open(os.path.join(HERE, "bank_kprototypes_cost.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["k", "init", "gamma", "cost", "n_iter"])
    for k, init, g, cost, n_iter in results:
        w.writerow([k, init, repr(float(g)), repr(cost), n_iter])
print(f"kmodes {kmodes.__version__}: gamma {gamma!r}; "
      + ", ".join(f"k {k} {init} cost {cost:.4f}" for k, init, _, cost, _ in results))
