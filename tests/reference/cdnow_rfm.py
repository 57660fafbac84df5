#!/usr/bin/env python3
"""Independent reference for segment_rfm (tests/pg_regress/sql/rfm.sql): recency, frequency and
monetary value of every CDNOW customer (tests/data/cdnow), computed with plain Python from the
definitions in docs/rfm.md:
  as of 1997-09-30 (transactions on or before that day count);
  frequency = distinct days with a purchase (amount >= 0);
  monetary_total = sum of the amounts (net: returns would count negatively; there are none);
  recency_days = as_of - last purchase day; tenure_days = as_of - first purchase day.
  scores (bins 5) = 1 + floor(5 x customers with a strictly worse value / customers), worse
  being a larger recency, a smaller frequency, a smaller monetary_total;
  rfm_segment = the first row of docs/rfm.md's table that holds (R, F) (SEGMENTS below, copied
  from docs/rfm.md, not from the code).
Sums use Decimal (exact) and are written as the float nearest to the exact sum, as PostgreSQL's
numeric -> float8 cast gives. Writes cdnow_rfm_reference.csv (customer,recency_days,frequency,
monetary_total,tenure_days,r_score,f_score,m_score,rfm_segment), customers with a purchase up to
as_of only.
Made with: python3 tests/reference/cdnow_rfm.py. The output is committed; the tests read it.
"""
import bisect
import csv
import datetime
import os
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "cdnow", "cdnow_master_transactions.csv")
AS_OF = datetime.date(1997, 9, 30)
BINS = 5
# (name, R range, F range), in the README's order.
SEGMENTS = [
    ("Lost", (1, 1), (1, 1)),
    ("Champions", (5, 5), (4, 5)),
    ("Loyal", (3, 4), (4, 5)),
    ("Potential loyalist", (4, 5), (2, 3)),
    ("New customers", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need attention", (3, 3), (3, 3)),
    ("About to sleep", (3, 3), (1, 2)),
    ("At risk", (1, 2), (3, 4)),
    ("Cannot lose them", (1, 2), (5, 5)),
    ("Hibernating", (1, 2), (1, 2)),
]


def quantile_scores(values, higher_is_better):
    ordered = sorted(values)
    n = len(values)
    if higher_is_better:
        worse = [bisect.bisect_left(ordered, v) for v in values]
    else:
        worse = [n - bisect.bisect_right(ordered, v) for v in values]
    return [1 + BINS * w // n for w in worse]


def segment(r, f):
    return next(name for name, (r0, r1), (f0, f1) in SEGMENTS if r0 <= r <= r1 and f0 <= f <= f1)

days, spend = {}, {}
with open(DATA, newline="") as f:
    for r in csv.DictReader(f):
        day = datetime.date.fromisoformat(r["date"])
        if day > AS_OF:
            continue
        amount = Decimal(r["dollar_value"])
        c = r["customer_id"]
        spend[c] = spend.get(c, Decimal(0)) + amount
        if amount >= 0:
            days.setdefault(c, set()).add(day)

customers = sorted(days, key=int)
recency = [(AS_OF - max(days[c])).days for c in customers]
frequency = [len(days[c]) for c in customers]
monetary = [float(spend[c]) for c in customers]
r_scores = quantile_scores(recency, higher_is_better=False)
f_scores = quantile_scores(frequency, higher_is_better=True)
m_scores = quantile_scores(monetary, higher_is_better=True)
with open(os.path.join(HERE, "cdnow_rfm_reference.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer", "recency_days", "frequency", "monetary_total", "tenure_days",
                "r_score", "f_score", "m_score", "rfm_segment"])
    for i, c in enumerate(customers):
        w.writerow([c, recency[i], frequency[i], repr(monetary[i]), (AS_OF - min(days[c])).days,
                    r_scores[i], f_scores[i], m_scores[i], segment(r_scores[i], f_scores[i])])
print(f"{len(days)} customers with a purchase up to {AS_OF}")
