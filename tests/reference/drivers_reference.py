#!/usr/bin/env python3
"""Independent reference for segment_drivers (tests/pg_regress/sql/drivers.sql): every slice's
row computed plainly in pandas from the raw rows, by the definitions in docs/reference.md
("segment_drivers"), on real bundled data:

  bank_sum, bank_rate    tests/data/bank_marketing/bank.csv: test = contacts of July..December,
                         control = January..June; metric subscribed = (y = 'yes') as 0 / 1, as a
                         sum (subscriptions) and per row (the subscription rate); dimensions job,
                         marital, education, contact.
  cdnow_revenue,         tests/data/cdnow/cdnow_master_transactions.csv: test = the second half
  cdnow_price            of 1997, control = the first half (1998's transactions have no flag and
                         are left out); metric revenue = dollar_value, as a sum, and per
                         number_of_cds (the price of a CD, a ratio of sums); dimensions
                         rfm_segment (segment_rfm's segment of the customer as of 1997-06-30, by
                         the definitions of docs/rfm.md), cohort (the month of the customer's
                         first purchase) and basket ('1', '2' or '3+' CDs in the transaction).

Options: the defaults (max_depth 3, min_support 0.05, prune true). For every combination of up
to three dimensions, pandas groups the rows (groupby with dropna=False); per slice and group:
  metric: sum; per row: sum / rows; ratio: sum(metric) / sum(denominator);
  difference, relative_difference = difference / control, contribution (the slice's share of the
  population's change: for a sum difference / population difference; for a mean or a ratio
  ((M_t - R_c D_t) / PD_t - (M_c - R_c D_c) / PD_c) / (R_t - R_c) with P the population's),
  unexpected_difference = test - control * population test / population control,
  support = rows of the slice / rows (test and control),
  p_value: a sum: 2 norm.sf(|S_t - S_c| / sqrt(sum of squares of test + control rows)); a mean:
  scipy.stats.ttest_ind(test rows, control rows, equal_var=False); a ratio: the same on each
  row's R + (m - R d) / mean(d) (R, mean(d): its group's), the delta method's linearised values.
Pruning: a slice is dropped when one of its parents (the slice without one of its items) has as
many rows in test and in control. position: 0 for the population, then by |unexpected_difference|
descending, ties by |contribution| descending, support descending, fewer items, items' text.

Writes drivers_reference.csv (case, drivers as 'column=value' items joined by ' & ', every column,
position). Made with: python3 tests/reference/drivers_reference.py (pandas, scipy). The output is
committed; the tests read it.
"""
import itertools
import math
import os

import numpy as np
import pandas as pd
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
MAX_DEPTH, MIN_SUPPORT = 3, 0.05

# docs/rfm.md's table: (name, R range, F range), first match wins.
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


def bank():
    b = pd.read_csv(os.path.join(DATA, "bank_marketing", "bank.csv"))
    b["second_half"] = b["month"].isin(["jul", "aug", "sep", "oct", "nov", "dec"])
    b["subscribed"] = (b["y"] == "yes").astype(float)
    return b


def scores(values, higher_is_better, bins=5):
    """1 + floor(bins x customers with a strictly worse value / customers)."""
    v = np.asarray(values, dtype=float)
    ordered = np.sort(v)
    if higher_is_better:
        worse = np.searchsorted(ordered, v, side="left")
    else:
        worse = len(v) - np.searchsorted(ordered, v, side="right")
    return 1 + bins * worse // len(v)


def cdnow():
    c = pd.read_csv(os.path.join(DATA, "cdnow", "cdnow_master_transactions.csv"), parse_dates=["date"])
    # RFM as of 1997-06-30 (docs/rfm.md): frequency = distinct days, recency from the last day.
    as_of = pd.Timestamp("1997-06-30")
    h1 = c[c["date"] <= as_of]
    per = h1.groupby("customer_id").agg(last=("date", "max"), monetary=("dollar_value", "sum"),
                                        frequency=("date", "nunique"))
    recency = (as_of - per["last"]).dt.days
    r = scores(recency.values, higher_is_better=False)
    f = scores(per["frequency"].values, higher_is_better=True)
    names = [next(n for n, (r0, r1), (f0, f1) in SEGMENTS if r0 <= ri <= r1 and f0 <= fi <= f1)
             for ri, fi in zip(r, f)]
    segment = pd.Series(names, index=per.index)
    first = c.groupby("customer_id")["date"].min()
    c["rfm_segment"] = c["customer_id"].map(segment)  # every CDNOW customer bought in 1997 Q1
    c["cohort"] = c["customer_id"].map(first).dt.strftime("%Y-%m")
    c["basket"] = np.where(c["number_of_cds"] >= 3, "3+", c["number_of_cds"].astype(str))
    flag = pd.Series(pd.NA, index=c.index, dtype="boolean")
    flag[(c["date"] >= "1997-01-01") & (c["date"] <= "1997-06-30")] = False
    flag[(c["date"] >= "1997-07-01") & (c["date"] <= "1997-12-31")] = True
    c["second_half"] = flag
    c["revenue"] = c["dollar_value"].astype(float)
    c["cds"] = c["number_of_cds"].astype(float)
    return c


def value(g, per, metric, denominator):
    if per == "sum":
        return g[metric].sum()
    d = len(g) if per == "row" else g[denominator].sum()
    return g[metric].sum() / d if d != 0 else None


def denominator_of(g, per, denominator):
    return len(g) if per in ("sum", "row") else g[denominator].sum()


def p_value(t, c, per, metric, denominator):
    if per == "sum":
        variance = (t[metric] ** 2).sum() + (c[metric] ** 2).sum()
        difference = t[metric].sum() - c[metric].sum()
        if variance == 0:
            return 0.0 if difference != 0 else None
        return 2 * stats.norm.sf(abs(difference) / math.sqrt(variance))
    if len(t) < 2 or len(c) < 2:
        return None
    if per == "row":
        a, b = t[metric].values, c[metric].values
    else:
        def linear(g):
            r = g[metric].sum() / g[denominator].sum()
            return r + (g[metric].values - r * g[denominator].values) / g[denominator].mean()
        if t[denominator].sum() == 0 or c[denominator].sum() == 0:
            return None
        a, b = linear(t), linear(c)
    if np.var(a) == 0 and np.var(b) == 0:
        return 0.0 if a.mean() != b.mean() else None
    return stats.ttest_ind(a, b, equal_var=False).pvalue


def drivers(df, flag, metric, dims, per="sum", denominator=None):
    used = df[df[flag].notna() & df[metric].notna()]
    if denominator is not None:
        used = used[used[denominator].notna()]
    test, control = used[used[flag] == True], used[used[flag] == False]  # noqa: E712
    pt, pc = value(test, per, metric, denominator), value(control, per, metric, denominator)
    dt, dc = denominator_of(test, per, denominator), denominator_of(control, per, denominator)
    total = len(used)
    counts = {}
    rows = []

    def row(items, t, c):
        vt, vc = value(t, per, metric, denominator), value(c, per, metric, denominator)
        diff = None if vt is None or vc is None else vt - vc
        rel = None if diff is None or vc == 0 else diff / vc
        unexpected = None if vt is None or vc is None or not pc else vt - vc * (pt / pc)
        change = pt - pc
        if change == 0:
            contribution = None
        elif per == "sum":
            contribution = diff / change
        else:
            def part(g, d):
                return (g[metric].sum() - pc * denominator_of(g, per, denominator)) / d
            contribution = (part(t, dt) - part(c, dc)) / change
        return dict(drivers=" & ".join(items), metric_test=vt, metric_control=vc, difference=diff,
                    relative_difference=rel, contribution=contribution,
                    unexpected_difference=unexpected, support=(len(t) + len(c)) / total,
                    rows_test=len(t), rows_control=len(c),
                    p_value=p_value(t, c, per, metric, denominator), depth=len(items))

    population = row([], test, control)
    population["unexpected_difference"] = 0.0
    population["contribution"] = 1.0 if population["contribution"] is not None else None
    groups = {}
    for depth in range(1, MAX_DEPTH + 1):
        for combo in itertools.combinations(dims, depth):
            for key, g in used.groupby(list(combo), dropna=False):
                key = key if isinstance(key, tuple) else (key,)
                items = tuple(f"{d} IS NULL" if pd.isna(v) else f"{d}={v}" for d, v in zip(combo, key))
                t, c = g[g[flag] == True], g[g[flag] == False]  # noqa: E712
                counts[items] = (len(t), len(c))
                groups[items] = (t, c)
    counts[()] = (len(test), len(control))
    for items, (t, c) in groups.items():
        if (len(t) + len(c)) / total < MIN_SUPPORT:
            continue
        parents = [items[:i] + items[i + 1:] for i in range(len(items))]
        if any(counts.get(p) == (len(t), len(c)) for p in parents):
            continue
        rows.append(row(list(items), t, c))

    def magnitude(v):
        return -1.0 if v is None else abs(v)
    rows.sort(key=lambda r: (-magnitude(r["unexpected_difference"]), -magnitude(r["contribution"]),
                             -r["support"], r["depth"], r["drivers"].split(" & ")))
    out = [population] + rows
    for i, r in enumerate(out):
        r["position"] = i
    left_out = len(df) - len(used)
    return out, left_out


def main():
    b, c = bank(), cdnow()
    dims_bank = ["job", "marital", "education", "contact"]
    dims_cdnow = ["rfm_segment", "cohort", "basket"]
    cases = [
        ("bank_sum", b, "second_half", "subscribed", dims_bank, "sum", None),
        ("bank_rate", b, "second_half", "subscribed", dims_bank, "row", None),
        ("cdnow_revenue", c, "second_half", "revenue", dims_cdnow, "sum", None),
        ("cdnow_price", c, "second_half", "revenue", dims_cdnow, "column", "cds"),
    ]
    frames = []
    for name, df, flag, metric, dims, per, denominator in cases:
        rows, left_out = drivers(df, flag, metric, dims, per, denominator)
        frame = pd.DataFrame(rows).drop(columns="depth")
        frame.insert(0, "case", name)
        frames.append(frame)
        print(f"{name}: {len(rows)} rows ({left_out} source rows left out)")
    out = pd.concat(frames)
    out.to_csv(os.path.join(HERE, "drivers_reference.csv"), index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
