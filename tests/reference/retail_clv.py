#!/usr/bin/env python3
"""Independent reference for BG/NBD at the boundary (issue 28, item 6): the lifetimes package
(0.11.3, BetaGeoFitter, penalizer 0) on the Online Retail sample (tests/data/online_retail).

Customer summaries by docs/clv.md's definitions, computed here with pandas: purchases are
transactions with amount >= 0 and a customer; occasions are calendar days (an invoice's time cut to
its day); x = occasions - 1, t_x = last - first occasion, T = calibration_end - first occasion, in
weeks (days / 7); transactions after calibration_end (midnight at the start of its day: a purchase
later that day is left out, as segment_clv_fit compares times) are left out.

For each calibration end the script writes lifetimes' parameters r, alpha, a, b (lifetimes rescales
the times internally and scales alpha back), their log-likelihood (BG/NBD equation 6 summed over the
customers, written out here with scipy's gammaln and betaln, not lifetimes' code) and the best
log-likelihood of the model without dropout (the NBD: ln G(r + x) - ln G(r) + r ln alpha - (r + x)
ln(alpha + T), maximized over (r, alpha) with scipy's Nelder-Mead to 1e-12), and lifetimes' P(alive)
over the customers: its minimum, standard deviation (population) and root mean square.

Made with: python3 tests/reference/retail_clv.py (needs lifetimes, pandas, numpy, scipy). Writes
retail_clv_lifetimes.csv; the output is committed and the tests read it (the core's unit test in
value::clv and tests/pg_regress/sql/clv.sql).
"""
import csv
import os

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "online_retail", "online_retail_sample.csv")
OUT = os.path.join(HERE, "retail_clv_lifetimes.csv")
ENDS = ["2011-06-30", "2011-09-30", "2011-12-09"]


def summaries(df, end):
    end = pd.Timestamp(end)
    p = df[(df.amount >= 0) & df.customer_id.notna() & (df["at"] <= end)]
    days = p.groupby(["customer_id", "day"]).size().reset_index()
    g = days.groupby("customer_id").day
    first, last, count = g.min(), g.max(), g.count()
    x = (count - 1).to_numpy(float)
    t_x = ((last - first).dt.days / 7).to_numpy(float)
    t = ((end - first).dt.days / 7).to_numpy(float)
    return x, t_x, t


def bgnbd_ll(params, x, t_x, t):
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    stays = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(
            x > 0,
            betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(common + np.logaddexp(stays, dropped)))


def nbd_ll(x, t):
    def negative(u):
        r, alpha = np.exp(u)
        return -np.sum(gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + t))

    m = minimize(negative, [0.0, 0.0], method="Nelder-Mead",
                 options={"xatol": 1e-12, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000})
    return -m.fun


def main():
    df = pd.read_csv(DATA)
    df["at"] = pd.to_datetime(df.invoiced_at)
    df["day"] = df["at"].dt.normalize()
    rows = []
    for end in ENDS:
        x, t_x, t = summaries(df, end)
        bg = BetaGeoFitter(penalizer_coef=0.0)
        bg.fit(x, t_x, t)
        params = [bg.params_[k] for k in ("r", "alpha", "a", "b")]
        p_alive = np.asarray(bg.conditional_probability_alive(x, t_x, t), dtype=float)
        rows.append({
            "calibration_end": end,
            "customers": len(x),
            "repeat_customers": int(np.sum(x > 0)),
            "r": params[0], "alpha": params[1], "a": params[2], "b": params[3],
            "log_likelihood": bgnbd_ll(params, x, t_x, t),
            "no_dropout_log_likelihood": nbd_ll(x, t),
            "p_alive_min": p_alive.min(),
            "p_alive_sd": p_alive.std(),
            "p_alive_rms": np.sqrt(np.mean(p_alive ** 2)),
        })
    with open(OUT, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: (repr(float(v)) if isinstance(v, (float, np.floating)) else v) for k, v in row.items()})
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
