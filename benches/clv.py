#!/usr/bin/env python3
"""Benchmark of segment_clv_fit against export + Python lifetimes, in one run (run by
benches/run.sh), on customers generated from known parameters (which the fit must recover).

CLV_CUSTOMERS (default 1,000,000) synthetic customers: BG/NBD with r 0.5, alpha 6, a 0.8, b 2.5
(weeks), first purchase in the first 12 weeks of 2025, observed to the end of week 52; spend per
purchase Gamma-Gamma with p 6, q 4, gamma 15. Loaded as a transactions table (customer, day,
amount). Both sides fit BG/NBD and Gamma-Gamma on the same transactions, weeks, occasions =
distinct days:
  ours:    segment_clv_fit (summaries aggregated by the server, then the two fits)
  theirs:  export (COPY to pandas) + lifetimes.utils.summary_data_from_transaction_data +
           BetaGeoFitter.fit + GammaGammaFitter.fit
The recovered parameters must be within 10% of the truth (day resolution merges purchases on one
day, a small bias). One run each (the fits take long); only the ratio is comparable.
"""
import io
import os
import sys
import time

import numpy as np
import pandas as pd
import psycopg

DSN = os.environ["BENCH_DSN"]
CUSTOMERS = int(os.environ.get("BENCH_CLV_CUSTOMERS", 1_000_000))
TRUTH = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "gamma": 15.0}


def simulate(n, seed=7):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n)          # purchases per week
    drop = rng.beta(TRUTH["a"], TRUTH["b"], n)
    nu = rng.gamma(TRUTH["q"], 1 / TRUTH["gamma"], n)           # spend scale per customer
    start = rng.uniform(0, 12, n)                               # first purchase, weeks
    customers, weeks = [np.arange(n)], [start]
    t = start.copy()
    alive = np.ones(n, bool)
    while alive.any():
        # BG/NBD: a customer is alive after the first purchase and may leave after each repeat.
        t = t + rng.exponential(1 / np.maximum(lam, 1e-12))
        alive &= t <= 52
        customers.append(np.nonzero(alive)[0])
        weeks.append(t[alive])
        alive &= rng.random(n) >= drop
    c = np.concatenate(customers)
    w = np.concatenate(weeks)
    amount = rng.gamma(TRUTH["p"], 1 / nu[c])
    day = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.floor(w * 7), unit="D")
    return pd.DataFrame({"customer": c + 1, "day": day.date, "amount": np.round(amount, 2)})


def measure(conn):
    """The simulated transactions (made once), then one fit each; returns the figures."""
    cur = conn.cursor()
    have = cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'bench_clv_tx'").fetchone()[0]
    if not have or cur.execute("SELECT count(DISTINCT customer) FROM bench_clv_tx").fetchone()[0] != CUSTOMERS:
        df = simulate(CUSTOMERS)
        cur.execute("DROP TABLE IF EXISTS bench_clv_tx")
        cur.execute("CREATE TABLE bench_clv_tx (customer int, day date, amount numeric)")
        buf = io.StringIO()
        df.to_csv(buf, index=False, header=False)
        buf.seek(0)
        with cur.copy("COPY bench_clv_tx FROM STDIN (FORMAT csv)") as cp:
            cp.write(buf.getvalue())
        cur.execute("VACUUM ANALYZE bench_clv_tx")
    rows = cur.execute("SELECT count(*) FROM bench_clv_tx").fetchone()[0]

    t0 = time.perf_counter()
    ours = cur.execute(
        "SELECT r, alpha, a, b, p, q, gamma FROM segment_clv_fit('bench_clv_tx', 'customer', 'day', 'amount', "
        "'2025-12-30', name => 'bench_clv')").fetchone()
    t_ours = time.perf_counter() - t0

    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data
    t0 = time.perf_counter()
    buf = io.BytesIO()
    with cur.copy("COPY bench_clv_tx TO STDOUT (FORMAT csv)") as cp:
        for block in cp:
            buf.write(block)
    buf.seek(0)
    tx = pd.read_csv(buf, names=["customer", "day", "amount"], parse_dates=["day"])
    summary = summary_data_from_transaction_data(tx, "customer", "day", monetary_value_col="amount",
                                                 observation_period_end="2025-12-30", freq="W", freq_multiplier=1)
    bg = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    t_theirs = time.perf_counter() - t0

    theirs = [bg.params_["r"], bg.params_["alpha"], bg.params_["a"], bg.params_["b"],
              gg.params_["p"], gg.params_["q"], gg.params_["v"]]
    recovered = all(abs(o / TRUTH[n] - 1) < 0.10 for n, o in zip(NAMES, ours))
    return dict(rows=rows, ours=ours, theirs=theirs, t_ours=t_ours, t_theirs=t_theirs, recovered=recovered)


NAMES = ["r", "alpha", "a", "b", "p", "q", "gamma"]


def main():
    m = measure(psycopg.connect(DSN, autocommit=True))
    ours, theirs, t_ours, t_theirs = m["ours"], m["theirs"], m["t_ours"], m["t_theirs"]
    print(f"customers={CUSTOMERS} transactions={m['rows']}")
    print(f"{'param':6s} {'truth':>8s} {'ours':>9s} {'lifetimes':>10s}")
    for n, o, l in zip(NAMES, ours, theirs):
        within = abs(o / TRUTH[n] - 1) < 0.10
        print(f"{n:6s} {TRUTH[n]:8.3f} {o:9.4f} {l:10.4f}   {'within 10%' if within else 'OFF'}")
    print(f"{'segment_clv_fit':44s} {t_ours:8.3f} s")
    print(f"{'export + lifetimes summary + both fits':44s} {t_theirs:8.3f} s")
    print(f"clv fit / (export + lifetimes) = {t_ours / t_theirs:.2f}")
    return 0 if m["recovered"] else 1


if __name__ == "__main__":
    sys.exit(main())
