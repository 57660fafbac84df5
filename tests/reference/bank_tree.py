#!/usr/bin/env python3
"""Independent reference for the churn-tree test (tests/pg_regress/sql/churn.sql).

scikit-learn's DecisionTreeClassifier on the bank marketing contacts (tests/data/bank_marketing,
label y = 'yes'), with the settings the test gives segment_churn_fit: max_depth 5,
min_samples_leaf 20, criterion gini, no class weights; features age, balance, day, campaign,
pdays, previous (numbers) and job, marital, education, default, housing, loan, contact, month,
poutcome (one-hot encoded, every value a column, as customer_segment does). duration is left out:
it is only known after the call. Held-out ROC AUC of the leaves' training rates on a stratified
20% split, for split seeds 0..9; writes their mean (and each) to bank_tree_auc.csv.
Made with: python3 tests/reference/bank_tree.py (scikit-learn 1.x, numpy 2.x). The output is
committed; the test suite reads it and does not run this script.
"""
import csv
import os

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "bank_marketing", "bank.csv")
NUMERIC = ["age", "balance", "day", "campaign", "pdays", "previous"]
TEXT = ["job", "marital", "education", "default", "housing", "loan", "contact", "month", "poutcome"]

with open(DATA, newline="") as f:
    rows = list(csv.DictReader(f))
columns = [[float(r[c]) for r in rows] for c in NUMERIC]
for c in TEXT:
    for value in sorted({r[c] for r in rows}):
        columns.append([1.0 if r[c] == value else 0.0 for r in rows])
x = np.array(columns).T
y = np.array([r["y"] == "yes" for r in rows])

aucs = []
for seed in range(10):
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    tree = DecisionTreeClassifier(max_depth=5, min_samples_leaf=20, criterion="gini", random_state=seed)
    tree.fit(x_train, y_train)
    aucs.append(roc_auc_score(y_test, tree.predict_proba(x_test)[:, 1]))

with open(os.path.join(HERE, "bank_tree_auc.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["seed", "roc_auc"])
    for seed, auc in enumerate(aucs):
        w.writerow([seed, repr(float(auc))])
    w.writerow(["mean", repr(float(np.mean(aucs)))])
print(f"scikit-learn {sklearn.__version__}: held-out ROC AUC {np.mean(aucs):.4f} (seeds 0..9: "
      + ", ".join(f"{a:.4f}" for a in aucs) + ")")
