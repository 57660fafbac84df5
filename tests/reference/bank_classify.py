#!/usr/bin/env python3
"""Independent reference for a multi-class classifier on the bank marketing contacts.

scikit-learn on tests/data/bank_marketing/bank.csv (4521 rows), label education (four classes:
primary, secondary, tertiary, unknown); features age, balance, day, campaign, pdays, previous
(numbers, in that order) then job, marital, default, housing, loan, contact, month, poutcome
(one-hot encoded, every value its own 0/1 column, values in sorted order, as customer_segment
and bank_tree.py do). duration is left out, as in bank_tree.py; education is the label.
For split seeds 0..9, a stratified 20% held-out split (train_test_split(test_size=0.2,
stratify=label, random_state=seed)) and two models fitted on the 80%:
  tree    DecisionTreeClassifier(max_depth=5, min_samples_leaf=20, criterion='gini',
          random_state=seed)
  forest  RandomForestClassifier(n_estimators=100, max_depth=10, min_samples_leaf=1,
          max_features='sqrt', bootstrap=True, random_state=seed, n_jobs=2)
Held-out accuracy and macro F1 (f1_score(average='macro', zero_division=0): the unweighted mean
of the four per-class F1 scores, a class never predicted scoring 0) per seed and model, and the
mean over the ten seeds (seed 'mean'), written to bank_classify_accuracy.csv.
Made with: python3 tests/reference/bank_classify.py (scikit-learn 1.9.1, numpy 2.4.6). The output
is committed; the test suite reads it and does not run this script.
"""
import csv
import os

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "bank_marketing", "bank.csv")
NUMERIC = ["age", "balance", "day", "campaign", "pdays", "previous"]
TEXT = ["job", "marital", "default", "housing", "loan", "contact", "month", "poutcome"]
LABEL = "education"

with open(DATA, newline="") as f:
    rows = list(csv.DictReader(f))
columns = [[float(r[c]) for r in rows] for c in NUMERIC]
for c in TEXT:
    for value in sorted({r[c] for r in rows}):
        columns.append([1.0 if r[c] == value else 0.0 for r in rows])
x = np.array(columns).T
y = np.array([r[LABEL] for r in rows])


def models(seed):
    return {
        "tree": DecisionTreeClassifier(max_depth=5, min_samples_leaf=20, criterion="gini",
                                       random_state=seed),
        "forest": RandomForestClassifier(n_estimators=100, max_depth=10, min_samples_leaf=1,
                                         max_features="sqrt", bootstrap=True, random_state=seed,
                                         n_jobs=2),
    }


scores = {"tree": [], "forest": []}
for seed in range(10):
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    for name, model in models(seed).items():
        model.fit(x_train, y_train)
        predicted = model.predict(x_test)
        scores[name].append((accuracy_score(y_test, predicted),
                             f1_score(y_test, predicted, average="macro", zero_division=0)))

with open(os.path.join(HERE, "bank_classify_accuracy.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["model", "seed", "accuracy", "macro_f1"])
    for name, per_seed in scores.items():
        for seed, (accuracy, macro_f1) in enumerate(per_seed):
            w.writerow([name, seed, repr(float(accuracy)), repr(float(macro_f1))])
        w.writerow([name, "mean", repr(float(np.mean([s[0] for s in per_seed]))),
                    repr(float(np.mean([s[1] for s in per_seed])))])
print(f"scikit-learn {sklearn.__version__}: held-out education, seeds 0..9, mean "
      + "; ".join(f"{name} accuracy {np.mean([s[0] for s in per_seed]):.4f} "
                  f"macro F1 {np.mean([s[1] for s in per_seed]):.4f}"
                  for name, per_seed in scores.items()))
