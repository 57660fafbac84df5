#!/usr/bin/env python3
"""Independent reference for the Gaussian-mixture restarts (core test cluster::gmm::tests::
restarts_reach_scikit_learn): scikit-learn's best mean log-likelihood per row of
GaussianMixture(full covariance) on every data set the tests ship, k = 2..5, n_init 1 and 10.

Settings are the gmm method's defaults (cluster::Starts and cluster::gmm::REG_COVAR): tol 1e-4
on the change of the lower bound (the mean log-likelihood per row), max_iter 300, reg_covar 1e-6,
k-means initialisation (scikit-learn's default).

The matrices, each column z-scored with the population standard deviation:
  wholesale  tests/data/wholesale_customers: the six spend columns, log1p (as wholesale_methods.py)
             440 x 6.
  bank       tests/data/bank_marketing/bank.csv: age, balance, day, duration, campaign, 4521 x 5.
             pdays and previous are left out: for 82% of the clients they hold the codes -1 and 0
             ("never contacted before"), so a component can sit on that flat set with a variance
             of reg_covar alone, and the best likelihood depends on whether a start happens to
             land there rather than on how well the starts explore.
  cdnow      tests/data/cdnow/cdnow_sample_transactions.csv (the 2,357-customer sample) per
             customer, as of the last day of the data (1998-06-30): recency in days since the last
             purchase, log1p(frequency) with frequency the distinct purchase days, log1p(total
             dollar value); 2357 x 3.
Each value is rounded to 10 significant digits and the rounded matrix is both fitted here and
written next to this file as gmm_restarts_<data set>.csv (a header of column names, then one row
per customer), so the Rust test reads exactly the numbers scikit-learn fitted.

Writes gmm_restarts.csv: data_set,k,n_init,log_likelihood,seeds_min,seeds_median,seeds_max where
log_likelihood is score() (mean log-likelihood per row) of the fit with random_state=0, and the
seeds_* columns summarise the same fit over random_state 0..9 (how much the optimum found depends
on the seed).
Made with: python3 tests/reference/gmm_restarts.py (scikit-learn 1.x, numpy 2.x). The outputs are
committed; the test suite reads them and does not run this script.
"""
import csv
import datetime
import os

import numpy as np
import sklearn
from sklearn.mixture import GaussianMixture

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
TOL, MAX_ITER, REG_COVAR = 1e-4, 300, 1e-6
SEEDS = range(10)


def zscore(columns):
    x = np.array(columns, dtype=float).T
    x = (x - x.mean(axis=0)) / x.std(axis=0)  # population standard deviation (ddof 0)
    return np.vectorize(lambda v: float(f"{v:.10g}"))(x)


def wholesale():
    spend = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    with open(os.path.join(DATA, "wholesale_customers", "wholesale_customers.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return spend, zscore([[np.log1p(float(r[c])) for r in rows] for c in spend])


def bank():
    columns = ["age", "balance", "day", "duration", "campaign"]
    with open(os.path.join(DATA, "bank_marketing", "bank.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return columns, zscore([[float(r[c]) for r in rows] for c in columns])


def cdnow():
    days, spend = {}, {}
    with open(os.path.join(DATA, "cdnow", "cdnow_sample_transactions.csv"), newline="") as f:
        for r in csv.DictReader(f):
            c = int(r["customer_id"])
            days.setdefault(c, set()).add(datetime.date.fromisoformat(r["date"]))
            spend[c] = spend.get(c, 0.0) + float(r["dollar_value"])
    as_of = max(max(d) for d in days.values())
    customers = sorted(days)
    return ["recency_days", "log1p_frequency", "log1p_monetary"], zscore([
        [(as_of - max(days[c])).days for c in customers],
        [np.log1p(len(days[c])) for c in customers],
        [np.log1p(spend[c]) for c in customers],
    ])


def best(x, k, n_init, seed):
    gm = GaussianMixture(n_components=k, covariance_type="full", tol=TOL, max_iter=MAX_ITER,
                         n_init=n_init, reg_covar=REG_COVAR, init_params="kmeans",
                         random_state=seed).fit(x)
    return float(gm.score(x))


with open(os.path.join(HERE, "gmm_restarts.csv"), "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["data_set", "k", "n_init", "log_likelihood", "seeds_min", "seeds_median",
                "seeds_max"])
    for name, make in [("wholesale", wholesale), ("bank", bank), ("cdnow", cdnow)]:
        columns, x = make()
        with open(os.path.join(HERE, f"gmm_restarts_{name}.csv"), "w", newline="") as f:
            m = csv.writer(f)
            m.writerow(columns)
            m.writerows([[f"{v:.10g}" for v in row] for row in x])
        for k in (2, 3, 4, 5):
            for n_init in (1, 10):
                scores = [best(x, k, n_init, seed) for seed in SEEDS]
                w.writerow([name, k, n_init, repr(scores[0]), repr(min(scores)),
                            repr(float(np.median(scores))), repr(max(scores))])
                print(f"{name} {x.shape} k={k} n_init={n_init}: {scores[0]:.4f} "
                      f"(seeds {min(scores):.4f} .. {max(scores):.4f})", flush=True)

print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
