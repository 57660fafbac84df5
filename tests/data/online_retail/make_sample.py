#!/usr/bin/env python3
"""Makes online_retail_sample.csv (see SOURCE.txt) from the UCI Online Retail log as split by day
in databricks/Spark-The-Definitive-Guide, data/retail-data/by-day/*.csv (one file per trading day,
541,909 invoice lines in all).

Usage: python3 make_sample.py BY_DAY_FOLDER online_retail_sample.csv 800 150 28

Each invoice becomes one transaction: its lines' Quantity x UnitPrice summed exactly (Decimal) and
rounded to cents, at the time of its first line (an invoice's lines may span a few minutes), with
its customer (empty when the log has none) and country. Cancellations (invoice numbers starting
with C) have negative amounts: returns. Kept: every invoice of every customer who bought something
and whose net total over the whole log is negative (returns exceed purchases: 8 customers), every
invoice of 800 other customers drawn at random (seed 28), and 150 invoices without a customer drawn
at random. Rows sorted by time, then invoice number.
"""
import csv
import glob
import os
import random
import sys
from collections import defaultdict
from decimal import Decimal

src, out = sys.argv[1], sys.argv[2]
n_customers, n_anonymous, seed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
invoices = {}
for f in sorted(glob.glob(os.path.join(src, "*.csv"))):
    with open(f, newline="") as fh:
        for row in csv.DictReader(fh):
            key = row["InvoiceNo"]
            customer = str(int(float(row["CustomerID"]))) if row["CustomerID"] else ""
            amount = Decimal(row["Quantity"]) * Decimal(row["UnitPrice"])
            if key not in invoices:
                invoices[key] = [key, customer, row["InvoiceDate"], Decimal(0), row["Country"]]
            invoice = invoices[key]
            assert invoice[1] == customer, (key, invoice, row)
            invoice[2] = min(invoice[2], row["InvoiceDate"])
            invoice[3] += amount
net = defaultdict(Decimal)
bought = set()
for key, customer, at, amount, country in invoices.values():
    if customer:
        net[customer] += amount
        if amount >= 0:
            bought.add(customer)
negative = sorted(c for c in bought if net[c] < 0)
rng = random.Random(seed)
others = sorted(c for c in net if c not in negative)
chosen = set(negative) | set(rng.sample(others, n_customers))
anonymous = sorted(k for k, i in invoices.items() if not i[1])
chosen_anonymous = set(rng.sample(anonymous, n_anonymous))
rows = [i for k, i in invoices.items() if i[1] in chosen or k in chosen_anonymous]
rows.sort(key=lambda i: (i[2], i[0]))
with open(out, "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["invoice_no", "customer_id", "invoiced_at", "amount", "country"])
    for key, customer, at, amount, country in rows:
        w.writerow([key, customer, at, format(amount.quantize(Decimal("0.01")), "f"), country])
print(f"{len(invoices)} invoices, {len(negative)} net-negative buyers, {len(rows)} rows written")
