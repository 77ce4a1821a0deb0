"""attend.Forecaster against the CLI (checkpoints both ways), DataFrames long and wide, numpy
arrays, quantiles, cross-validation, explain, Ctrl-C, the GIL, memory and every error path.

The CLI is the binary in $ATTEND_CLI (ctest sets it to the build's attend); the tests that run it
are skipped when it is not set (testing an installed package alone)."""

from __future__ import annotations

import io
import os
import pydoc
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import attend

ROOT = Path(__file__).resolve().parents[2]
OWN = ROOT / "data" / "own"
CLI = os.environ.get("ATTEND_CLI")
needs_cli = pytest.mark.skipif(not CLI, reason="ATTEND_CLI (the attend binary) not set")

# a small PatchTST: trains in well under a second on the monthly series
SMALL = dict(d_model=16, n_heads=2, e_layers=1, d_ff=32, patch_len=6, train_epochs=2,
             batch_size=16, learning_rate=1e-3)  # fmt: skip
SMALL_FLAGS = ["--d_model", "16", "--n_heads", "2", "--e_layers", "1", "--d_ff", "32",
               "--patch_len", "6", "--train_epochs", "2", "--batch_size", "16",
               "--learning_rate", "0.001"]  # fmt: skip


def monthly() -> pd.DataFrame:
    return pd.read_csv(OWN / "monthly.csv", parse_dates=["ds"])


def seatbelts() -> pd.DataFrame:
    return pd.read_csv(OWN / "seatbelts.csv", parse_dates=["date"])


def cli(*args: str) -> str:
    r = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def train_cli(tmp_path: Path, data: str, *flags: str) -> Path:
    cli("train", "--model", "PatchTST", "--data", "custom", "--root_path", str(OWN),
        "--data_path", data, "--seq_len", "24", "--label_len", "12", "--pred_len", "6",
        "--checkpoints", str(tmp_path / "runs"), "--threads", "2", *SMALL_FLAGS, *flags)  # fmt: skip
    (run,) = (tmp_path / "runs").iterdir()
    return run


# ---- checkpoints both ways -----------------------------------------------------------------------


@needs_cli
@pytest.mark.parametrize("quantiles", [False, True])
def test_cli_checkpoint_forecasts_in_python_exactly_as_the_cli(tmp_path, quantiles):
    flags = ["--target", "y", "--freq", "auto"] + (["--quantiles", "0.1,0.5,0.9"] * quantiles)
    run = train_cli(tmp_path, "monthly.csv", *flags)
    out = tmp_path / "forecast.csv"
    cli("forecast", "--checkpoint", str(run), "--input", str(OWN / "monthly.csv"),
        "--output", str(out), "--threads", "2")  # fmt: skip
    expected = pd.read_csv(out, parse_dates=["ds"])

    got = attend.load(run, threads=2).predict(monthly())
    assert list(got.columns) == list(expected.columns)
    if quantiles:
        assert list(got.columns) == ["unique_id", "ds", "y", "y_q0.1", "y_q0.5", "y_q0.9"]
    assert (got["unique_id"] == expected["unique_id"]).all()
    assert (got["ds"] == expected["ds"]).all()
    for c in expected.columns[2:]:  # the CLI writes float32 values in their shortest form
        np.testing.assert_array_equal(got[c].to_numpy(), expected[c].to_numpy(np.float32))


@needs_cli
def test_cli_wide_checkpoint_forecasts_in_python_exactly_as_the_cli(tmp_path):
    run = train_cli(tmp_path, "seatbelts.csv", "--target", "drivers", "--freq", "auto")
    out = tmp_path / "forecast.csv"
    cli("forecast", "--checkpoint", str(run), "--input", str(OWN / "seatbelts.csv"),
        "--output", str(out))  # fmt: skip
    expected = pd.read_csv(out, parse_dates=["date"])
    got = attend.load(run).predict(seatbelts())
    assert list(got.columns) == list(expected.columns) == ["date", "PetrolPrice", "law", "drivers"]
    assert (got["date"] == expected["date"]).all()
    for c in expected.columns[1:]:
        np.testing.assert_array_equal(got[c].to_numpy(), expected[c].to_numpy(np.float32))


@needs_cli
def test_python_fit_then_cli_test_equals_python_test(tmp_path):
    f = attend.Forecaster("PatchTST", h=6, input_size=24, verbose=False, threads=2, **SMALL)
    f.fit(monthly())
    saved = f.save(tmp_path / "model")
    assert sorted(os.listdir(saved)) == ["config.json", "metrics.json", "scaler.json",
                                         "weights.safetensors"]
    line = cli("test", "--checkpoint", saved, "--root_path", str(OWN),
               "--data_path", "monthly.csv").strip().splitlines()[-1]  # fmt: skip
    mse, mae = (np.float32(part.split(":")[1]) for part in line.split(", "))
    metrics = f.test()
    assert metrics == f.metrics_
    assert (np.float32(metrics["mse"]), np.float32(metrics["mae"])) == (mse, mae)
    # and the CLI forecasts from the Python checkpoint as Python does
    out = tmp_path / "forecast.csv"
    cli("forecast", "--checkpoint", saved, "--input", str(OWN / "monthly.csv"), "--output", str(out))
    expected = pd.read_csv(out)
    np.testing.assert_array_equal(f.predict()["y"].to_numpy(), expected["y"].to_numpy(np.float32))


def test_save_then_load_predicts_the_same(tmp_path):
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    f.fit(monthly())
    g = attend.load(f.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(g.predict(monthly()), f.predict())
    assert g.options["seq_len"] == 24 and g.options["pred_len"] == 6
    assert g.test(monthly()) == f.metrics_


# ---- data layouts ---------------------------------------------------------------------------------


def test_long_dataframe_any_row_order_and_custom_column_names():
    df = monthly()
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    f.fit(df)
    p = f.predict()
    assert list(p.columns) == ["unique_id", "ds", "y"]
    assert p.groupby("unique_id").size().to_dict() == {i: 6 for i in df["unique_id"].unique()}
    last = df.groupby("unique_id")["ds"].max()
    first = p.groupby("unique_id")["ds"].min()
    assert ((first - last).dt.days.between(28, 31)).all()  # the month after each series' end
    # the same rows shuffled, with other column names, forecast the same
    other = df.sample(frac=1.0, random_state=0).rename(
        columns={"unique_id": "series", "ds": "month", "y": "value"})
    g = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1,
                          id_col="series", time_col="month")  # fmt: skip
    g.fit(other)
    q = g.predict()
    assert list(q.columns) == ["series", "month", "value"]
    np.testing.assert_array_equal(q["value"].to_numpy(), p["y"].to_numpy())
    # ids= picks series
    assert set(f.predict(ids=["AirPassengers"])["unique_id"]) == {"AirPassengers"}


def test_wide_dataframe_with_a_date_column_or_a_datetime_index():
    df = seatbelts()
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    assert f.options["target"] is None  # chosen by fit: y, else the last value column
    f.fit(df)
    assert f.options["target"] == "drivers"
    p = f.predict()
    assert list(p.columns) == ["date", "PetrolPrice", "law", "drivers"]
    assert p["date"].iloc[0] == pd.Timestamp("1985-01-01")
    g = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    g.fit(df.set_index("date"))
    pd.testing.assert_frame_equal(g.predict(), p)
    assert g.metrics_ == f.metrics_


def test_numpy_arrays_in_and_out():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    y = np.stack([np.sin(t / 6), np.cos(t / 9)], axis=1) + 0.05 * rng.standard_normal((400, 2))
    f = attend.Forecaster("DLinear", h=8, input_size=32, verbose=False, train_epochs=1)
    f.fit(y)
    r = f.predict_numpy(y[-32:])
    assert r.values.shape == (8, 2) and r.values.dtype == np.float32
    assert r.columns == ["y0", "y1"]
    assert r.values.flags.owndata is False  # the library's buffer, not a copy
    np.testing.assert_array_equal(r.timestamps, np.arange(32, 40) * 3600)  # hourly from 1970
    # a DataFrame of the same rows forecasts the same
    p = f.predict(y[-32:])
    np.testing.assert_array_equal(p[["y0", "y1"]].to_numpy(), r.values)
    # times given as datetime64
    ds = np.datetime64("2024-01-01T00:00") + np.arange(400) * np.timedelta64(1, "h")
    g = attend.Forecaster("DLinear", h=8, input_size=32, verbose=False, train_epochs=1)
    g.fit(y[:, 0], ds=ds)
    r = g.predict_numpy(y[-32:, 0], ds=ds[-32:])
    assert pd.Timestamp(r.timestamps[0], unit="s") == pd.Timestamp("2024-01-17 16:00")


def test_csv_path_in():
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    f.fit(OWN / "monthly.csv")
    g = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    g.fit(monthly())
    assert f.metrics_ == g.metrics_
    pd.testing.assert_frame_equal(f.predict(), g.predict())


# ---- quantiles, covariates, backtests, explain -------------------------------------------------


def test_quantiles_are_columns_beside_their_value_and_sorted():
    f = attend.Forecaster("PatchTST", h=6, input_size=24, verbose=False, quantiles=[0.1, 0.5, 0.9],
                          **SMALL)  # fmt: skip
    f.fit(monthly())
    p = f.predict()
    assert list(p.columns) == ["unique_id", "ds", "y", "y_q0.1", "y_q0.5", "y_q0.9"]
    assert (p["y_q0.1"] <= p["y_q0.5"]).all() and (p["y_q0.5"] <= p["y_q0.9"]).all()
    assert {"pinball", "coverage", "crps"} <= set(f.metrics_)
    # arrays: (rows, K, Q)
    air = monthly().query("unique_id == 'AirPassengers'")["y"].to_numpy()
    g = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1,
                          quantiles=[0.1, 0.5, 0.9])  # fmt: skip
    g.fit(air)
    r = g.predict_numpy(air[-24:])
    assert r.levels == [0.1, 0.5, 0.9] and r.quantiles.shape == (6, 1, 3)
    assert (np.diff(r.quantiles, axis=-1) >= 0).all()


def test_known_future_columns_through_future():
    df = seatbelts()
    f = attend.Forecaster("TFT", h=6, input_size=24, verbose=False, target="drivers",
                          features="MS", known_columns=["PetrolPrice", "law"], d_model=16,
                          n_heads=2, train_epochs=1)  # fmt: skip
    f.fit(df.iloc[:-6])
    future = df.iloc[-6:][["date", "PetrolPrice", "law"]]
    p = f.predict(df.iloc[:-6], future=future)
    assert list(p.columns) == ["date", "drivers"] and len(p) == 6
    assert (p["date"].to_numpy() == future["date"].to_numpy()).all()
    with pytest.raises(ValueError, match="future"):
        f.predict(df.iloc[:-6])
    e = f.explain(0)
    assert set(e.selection) >= {"history", "future"}
    assert list(e.selection["future"].columns) == ["variable", "test_average", "this_forecast"]
    assert "law" in set(e.selection["future"]["variable"])


def test_cross_validation_as_the_backtest_command():
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    df = monthly()
    f.fit(df)
    cv = f.cross_validation(df, n_windows=3, step=2)
    assert list(cv.columns) == ["unique_id", "cutoff", "ds", "y", "y_actual"]
    assert len(cv) == 3 * 3 * 6  # series x windows x steps
    assert cv.groupby("unique_id")["cutoff"].nunique().eq(3).all()
    assert (cv["ds"] > cv["cutoff"]).all()
    actual = df.set_index(["unique_id", "ds"])["y"]
    joined = actual.reindex(pd.MultiIndex.from_frame(cv[["unique_id", "ds"]])).to_numpy()
    np.testing.assert_array_equal(cv["y_actual"].to_numpy(), joined.astype(np.float32))
    assert set(cv.attrs["metrics"]) >= {"overall", "cutoffs"}
    # refit: fresh models trained before each cut-off, each series on its own rows (these three
    # span different decades)
    g = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    cv2 = g.cross_validation(df, n_windows=2, refit=1)
    assert len(cv2) == 3 * 2 * 6
    assert cv2.groupby("unique_id")["cutoff"].nunique().eq(2).all()
    assert cv2["cutoff"].nunique() == 6


def test_explain_gives_weights_layer_head_query_key_and_head_stats():
    f = attend.Forecaster("Transformer", h=6, input_size=24, verbose=False, d_model=16,
                          n_heads=2, e_layers=2, d_layers=1, d_ff=32, train_epochs=1)  # fmt: skip
    f.fit(seatbelts())
    e = f.explain(1)
    assert e.window == 1 and Path(e.report).exists()
    enc = e.stacked("encoder-self")
    assert enc.shape == (2, 2, 24, 24)  # layer, head, query, key
    np.testing.assert_allclose(enc.sum(-1), 1.0, rtol=1e-5)
    assert e.weights["cross_L0"].shape == (2, 24 + 6, 24)  # label_len (min(48, 24)) + h queries
    assert {"layer", "head", "distance", "entropy"} <= set(e.head_stats.columns)
    assert len(e.head_stats) == (2 + 1 + 1) * 2  # encoder x2, decoder-self and cross layers
    with pytest.raises(ValueError, match="window"):
        f.explain(10_000)


# ---- Python library behaviour -----------------------------------------------------------------------


def test_ctrl_c_during_fit_saves_a_resumable_state(tmp_path):
    df = seatbelts()
    f = attend.Forecaster("PatchTST", h=6, input_size=24, verbose=False, checkpoints=tmp_path,
                          **{**SMALL, "train_epochs": 200, "patience": 1000})  # fmt: skip
    fitting = True  # no Ctrl-C after fit returned (that would stop pytest itself)
    timer = threading.Timer(0.5, lambda: fitting and os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="resume=True"):
            f.fit(df)  # ~3 s uninterrupted
    finally:
        fitting = False
        timer.cancel()
    (run,) = tmp_path.iterdir()
    assert (run / "resume").is_dir()
    f.fit(df, resume=True)  # continues to the last epoch
    assert not (run / "resume").exists() and f.metrics_ is not None


def test_gil_is_released_while_training():
    f = attend.Forecaster("PatchTST", h=6, input_size=24, verbose=False, threads=1,
                          **{**SMALL, "train_epochs": 30, "patience": 1000})  # fmt: skip
    t = threading.Thread(target=f.fit, args=(seatbelts(),))
    ticks = 0
    t.start()
    while t.is_alive():  # runs only while the fit thread lets the GIL go
        ticks += 1
        time.sleep(0.001)
    t.join()
    assert f.checkpoint is not None
    assert ticks > 20


def test_verbose_false_prints_nothing_and_verbose_prints_progress(capfd):
    attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1).fit(monthly())
    assert capfd.readouterr().err == ""
    attend.Forecaster("DLinear", h=6, input_size=24, train_epochs=1).fit(monthly())
    assert "epoch 1/1" in capfd.readouterr().err


def rss_kib() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_a_thousand_predicts_do_not_grow_memory():
    f = attend.Forecaster("PatchTST", h=6, input_size=24, verbose=False, train_epochs=1, **{
        k: v for k, v in SMALL.items() if k != "train_epochs"})  # fmt: skip
    df = monthly()
    f.fit(df)
    window = df.groupby("unique_id").tail(24)
    for _ in range(100):  # warm: allocator pools, the model built
        f.predict(window)
    before = rss_kib()
    for _ in range(1000):
        f.predict(window)
    grown = rss_kib() - before
    assert grown < 5 * 1024, f"RSS grew by {grown} KiB over 1000 predict calls"


def test_help_documents_the_public_api():
    text = pydoc.render_doc(attend.Forecaster, renderer=pydoc.plaintext)
    for part in ("h: forecast horizon", "input_size", "**flags", "fit(self", "predict(self",
                 "cross_validation(self", "explain(self", "save(self"):  # fmt: skip
        assert part in text, part
    assert "checkpoint folder" in pydoc.render_doc(attend.load, renderer=pydoc.plaintext)


# ---- errors ---------------------------------------------------------------------------------------


def test_bad_options_are_value_errors_naming_the_keyword():
    with pytest.raises(ValueError, match="d_model must be >= 1, got -1"):
        attend.Forecaster("PatchTST", d_model=-1)
    with pytest.raises(ValueError, match="keyword 'no_such_flag'"):
        attend.Forecaster("PatchTST", no_such_flag=1)
    with pytest.raises(ValueError, match="Nope"):
        attend.Forecaster("Nope")
    with pytest.raises(ValueError, match="give h or pred_len, not both"):
        attend.Forecaster(h=3, pred_len=3)
    with pytest.raises(ValueError, match="give input_size or seq_len, not both"):
        attend.Forecaster(input_size=3, seq_len=3)
    with pytest.raises(ValueError, match="threads"):
        attend.Forecaster(threads=-1)
    with pytest.raises(ValueError, match="keyword 'd_model'"):
        attend.Forecaster(d_model=object())


def test_bad_data_names_the_row_and_column():
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    df = monthly()
    dup = df.copy()
    dup.loc[5, "ds"] = dup.loc[4, "ds"]
    with pytest.raises(ValueError, match=r"DataFrame:5: column 'ds': .* duplicates row 4"):
        f.fit(dup)
    nan = df.copy()
    nan.loc[3, "y"] = np.nan
    with pytest.raises(ValueError, match=r"DataFrame:3: column 'y' of series 'AirPassengers': missing value"):
        f.fit(nan)
    text = df.assign(note="x")
    with pytest.raises(ValueError, match=r"column 'note' is not numeric"):
        f.fit(text)
    with pytest.raises(ValueError, match="timezone-aware"):
        f.fit(df.assign(ds=df["ds"].dt.tz_localize("UTC")))
    with pytest.raises(ValueError, match="no time column"):
        f.fit(df.drop(columns="ds"))
    with pytest.raises(ValueError, match="missing time"):
        f.fit(df.assign(ds=df["ds"].where(df.index != 7)))
    with pytest.raises(ValueError, match=r"DataFrame:2: column 'unique_id': missing series id"):
        f.fit(df.assign(unique_id=df["unique_id"].where(df.index != 2)))
    with pytest.raises(TypeError, match="DataFrame"):
        f.fit([1, 2, 3])
    with pytest.raises(ValueError, match=r"\(T,\) or \(T, C\)"):
        f.fit(np.zeros((2, 2, 2)))
    with pytest.raises(FileNotFoundError, match="none.csv"):
        f.fit("/nonexistent/none.csv")


def test_untrained_and_missing_checkpoints():
    f = attend.Forecaster("DLinear", verbose=False)
    for call in (f.predict, f.test, f.explain, lambda: f.save("/tmp/x")):
        with pytest.raises(ValueError, match="fit"):
            call()
    with pytest.raises(FileNotFoundError, match="no_such_checkpoint"):
        attend.load("/nonexistent/no_such_checkpoint")
    g = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    g.fit(monthly())
    with pytest.raises(ValueError, match="unknown series|Nope"):
        g.predict(ids=["Nope"])
    with pytest.raises(ValueError, match="y"):
        g.predict(monthly().rename(columns={"y": "z"}))
    with pytest.raises(ValueError, match="24"):  # too few rows for the input window
        g.predict(monthly().groupby("unique_id").tail(10))


def test_one_model_serves_threads_one_forecast_at_a_time():
    f = attend.Forecaster("PatchTST", h=6, input_size=24, verbose=False, **SMALL)
    df = seatbelts()
    f.fit(df)
    y = df.drop(columns="date").to_numpy()[-24:]
    expected = f.predict_numpy(y).values
    results = []

    def work():
        results.extend(f.predict_numpy(y).values for _ in range(20))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_array_times_errors_name_the_row():
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    y = np.arange(200.0)
    ds = np.datetime64("2024-01-01") + np.arange(200) * np.timedelta64(1, "h")
    f.fit(y, ds=ds)
    bad = ds[-24:].copy()
    bad[3] = np.datetime64("NaT")
    with pytest.raises(ValueError, match=r"array:3: column 'ds': missing time \(NaT\)"):
        f.predict_numpy(y[-24:], ds=bad)
    bad = ds[-24:] + np.timedelta64(500, "ms")
    with pytest.raises(ValueError, match=r"array:0: column 'ds': .* fraction of a second"):
        f.predict_numpy(y[-24:], ds=bad)
    with pytest.raises(ValueError, match="23 times in ds for 24 rows"):
        f.predict_numpy(y[-24:], ds=ds[-23:])
    with pytest.raises(ValueError, match=r"values of shape \(24, 2\) for 24 rows of 1 columns"):
        f.predict_numpy(np.zeros((24, 2)))
    # integer times are seconds since 1970
    r = f.predict_numpy(y[-24:], ds=ds[-24:].astype("datetime64[s]").astype(np.int64))
    np.testing.assert_array_equal(r.values, f.predict_numpy(y[-24:], ds=ds[-24:]).values)


def test_compute_threads_never_take_ctrl_c():
    # every thread but the main one blocks SIGINT and SIGTERM: OpenMP's workers started at import
    # and by a fit's worker thread (in a fresh interpreter: no other Python threads)
    code = """
import os, attend, numpy as np
f = attend.Forecaster("PatchTST", h=6, input_size=24, verbose=False, train_epochs=1, d_model=16,
                      n_heads=2, e_layers=1, d_ff=32, patch_len=6, threads=2)
y = np.sin(np.arange(300) / 5.0)
f.fit(y)
f.predict_numpy(y[-24:])
main = os.getpid()
for tid in os.listdir("/proc/self/task"):
    try:
        status = open(f"/proc/self/task/{tid}/status").read()
    except FileNotFoundError:  # a thread that ended since the listing (the fit's worker)
        continue
    blocked = int(status.split("SigBlk:")[1].split()[0], 16)
    if int(tid) != main:
        assert blocked & (1 << 1) and blocked & (1 << 14), (tid, hex(blocked))
print(len(os.listdir("/proc/self/task")))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "OMP_NUM_THREADS": "2"})  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) >= 2  # the main thread and at least one worker were checked


@needs_cli
def test_python_wide_checkpoint_forecasts_with_the_cli(tmp_path):
    f = attend.Forecaster("DLinear", h=6, input_size=24, verbose=False, train_epochs=1)
    f.fit(seatbelts())
    saved = f.save(tmp_path / "wide")
    out = tmp_path / "forecast.csv"
    cli("forecast", "--checkpoint", saved, "--input", str(OWN / "seatbelts.csv"), "--output", str(out))
    expected = pd.read_csv(out)
    got = f.predict()
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_array_equal(got["drivers"].to_numpy(), expected["drivers"].to_numpy(np.float32))
