#!/usr/bin/env python3
"""Independent reference for segment_rfm (tests/pg_regress/sql/rfm.sql): recency, frequency and
monetary value of every CDNOW customer (tests/data/cdnow), computed with plain Python from the
definitions in the README ("RFM"):
  as of 1997-09-30 (transactions on or before that day count);
  frequency = distinct days with a purchase (amount >= 0);
  monetary_total = sum of the amounts (net: returns would count negatively; there are none);
  recency_days = as_of - last purchase day; tenure_days = as_of - first purchase day.
Sums use Decimal (exact) and are written as the float nearest to the exact sum, as PostgreSQL's
numeric -> float8 cast gives. Writes cdnow_rfm_reference.csv (customer,recency_days,frequency,
monetary_total,tenure_days), customers with a purchase up to as_of only.
Made with: python3 tests/reference/cdnow_rfm.py. The output is committed; the tests read it.
"""
import csv
import datetime
import os
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "cdnow", "cdnow_master_transactions.csv")
AS_OF = datetime.date(1997, 9, 30)

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

with open(os.path.join(HERE, "cdnow_rfm_reference.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer", "recency_days", "frequency", "monetary_total", "tenure_days"])
    for c in sorted(days, key=int):
        d = days[c]
        w.writerow([c, (AS_OF - max(d)).days, len(d), repr(float(spend[c])), (AS_OF - min(d)).days])
print(f"{len(days)} customers with a purchase up to {AS_OF}")
