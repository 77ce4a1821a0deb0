"""attend.Forecaster: train, forecast, backtest and explain from pandas DataFrames or numpy arrays.

The class is a thin layer over the C++ library (the extension ``attend._attend``): it turns
DataFrames into the library's tables, keyword arguments into the run configuration (the CLI's flag
names: ``d_model=16``, ``train_epochs=3``, ...) and the library's arrays back into DataFrames.
Checkpoints are the CLI's folders: one made by ``attend train`` loads here with :func:`load`, one
saved here with :meth:`Forecaster.save` is read by ``attend forecast``/``attend test``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import pandas as pd

from attend import _attend

__all__ = ["Forecaster", "ForecastArrays", "Explanation", "load"]

PathLike = Union[str, "os.PathLike[str]"]
Data = Union[pd.DataFrame, np.ndarray, PathLike]

# ---- tables -------------------------------------------------------------------------------------


def _nanoseconds(values: Any, name: str, source: str) -> np.ndarray:
    """A time column as int64 nanoseconds since 1970 (datetime64[ns] viewed as integers; the
    library checks for NaT and fractions of a second): datetime64, or text pandas can parse."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":  # datetime64
        return _datetime64_ns(values)
    s = pd.Series(values, copy=False)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        raise ValueError(
            f"{source}: column '{name}' is timezone-aware ({s.dtype.tz}); attend reads wall-clock "
            f"times: convert it, e.g. df['{name}'] = df['{name}'].dt.tz_convert('UTC')"
            ".dt.tz_localize(None)"
        )
    if not pd.api.types.is_datetime64_dtype(s.dtype):
        if pd.api.types.is_numeric_dtype(s.dtype):
            raise ValueError(
                f"{source}: column '{name}' holds numbers ({s.dtype}), not times; convert it, "
                f"e.g. pd.to_datetime(df['{name}'], unit='s')"
            )
        try:
            s = pd.to_datetime(s)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{source}: column '{name}': not a time: {e}") from None
    return _datetime64_ns(s.to_numpy())


def _datetime64_ns(t: np.ndarray) -> np.ndarray:
    """datetime64 times as int64 nanoseconds, without a copy when they are datetime64[ns]."""
    if t.dtype != np.dtype("datetime64[ns]"):
        t = t.astype("datetime64[ns]")
    return t.view(np.int64)


def _values(df: pd.DataFrame, columns: Sequence[str], source: str) -> np.ndarray:
    """The value columns as one float64 (rows, columns) array; NaN marks a missing value."""
    out = np.empty((len(df), len(columns)))
    for k, c in enumerate(columns):
        s = df[c]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
            out[:, k] = s.to_numpy()
        elif pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            out[:, k] = s.to_numpy(np.float64, na_value=np.nan)  # nullable: pd.NA -> NaN
        else:
            raise ValueError(
                f"{source}: column '{c}' is not numeric ({s.dtype}); drop it or convert it"
            )
    return out


@dataclass
class _Layout:
    """How the Forecaster reads DataFrames: the time and series-id columns' names."""

    time_col: Optional[str] = None  # None: ds, else date, else the DatetimeIndex
    id_col: str = "unique_id"


def _table(data: Data, layout: _Layout, source: str, columns: Optional[List[str]] = None):
    """The library's table of `data`: a long (id_col present) or wide DataFrame, a numpy array
    (T,) or (T, C) of values at hourly steps from 1970 (`columns` names its columns), or the
    path of a CSV file."""
    if isinstance(data, (str, os.PathLike)):
        return _attend.read_table(os.fspath(data), layout.time_col or "", layout.id_col)
    if isinstance(data, np.ndarray):
        return _array_table(data, None, columns, source)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{source}: expected a pandas DataFrame, a numpy array or a CSV path, "
            f"got {type(data).__name__}"
        )
    df = data
    time_col = layout.time_col
    if time_col is None:
        time_col = next((c for c in ("ds", "date") if c in df.columns), None)
    if time_col is not None and time_col in df.columns:
        times = df[time_col]
    elif isinstance(df.index, pd.DatetimeIndex) and time_col in (None, df.index.name):
        time_col = time_col or df.index.name or "ds"
        times = df.index
    else:
        wanted = f"'{time_col}'" if time_col else "'ds' or 'date'"
        raise ValueError(
            f"{source}: no time column {wanted} and no DatetimeIndex (columns: "
            f"{', '.join(map(str, df.columns))}); name it with time_col="
        )
    long = layout.id_col in df.columns
    values = [str(c) for c in df.columns if c not in (time_col, layout.id_col)]
    if not values:
        raise ValueError(f"{source}: no value columns besides '{time_col}'")
    times_ns = _nanoseconds(times, time_col, source)
    table_values = _values(df, values, source)
    ids = None
    if long:
        id_values = df[layout.id_col]
        if id_values.isna().any():
            row = int(np.flatnonzero(id_values.isna().to_numpy())[0])
            raise ValueError(f"{source}:{row}: column '{layout.id_col}': missing series id")
        id_text = id_values.astype(str).to_numpy()
        # rows in any order: sorted by series then time when some series is not in time order
        # (the messages then count rows of the sorted table, and say so)
        if not _time_ordered(times_ns, id_text):
            order = np.lexsort((times_ns, id_text))
            times_ns, table_values, id_text = times_ns[order], table_values[order], id_text[order]
            source = f"{source} sorted by {layout.id_col}, {time_col}"
        ids = id_text.tolist()
    return _attend.make_table(source, time_col, layout.id_col, values, times_ns, table_values, ids,
                              nanoseconds=True)  # fmt: skip


def _time_ordered(seconds: np.ndarray, ids: np.ndarray) -> bool:
    """Whether each series' rows come in increasing time (ties too: the library names them)."""
    codes = np.unique(ids, return_inverse=True)[1]
    order = np.argsort(codes, kind="stable")  # rows of each series, in table order
    same = codes[order][1:] == codes[order][:-1]
    return bool(np.all(np.diff(seconds[order])[same] >= 0))


def _array_table(values: np.ndarray, ds: Optional[Any], columns: Optional[List[str]], source: str):
    """A wide table of a (T,) or (T, C) array; `ds` the times (None: hourly from 1970)."""
    a = np.asarray(values)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{source}: values must be (T,) or (T, C), got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{source}: values must be numbers, got dtype {a.dtype}")
    if columns is None:
        columns = ["y"] if a.shape[1] == 1 else [f"y{i}" for i in range(a.shape[1])]
    if len(columns) != a.shape[1]:
        raise ValueError(
            f"{source}: {a.shape[1]} columns of values for the model's {len(columns)} "
            f"({', '.join(columns)})"
        )
    times, nanoseconds = _array_times(ds, a.shape[0], source)
    return _attend.make_table(source, "ds", "", list(columns), times, a, None, nanoseconds)


def _array_times(ds: Optional[Any], rows: int, source: str):
    """The times of a numpy array's rows for the library: (int64 array, nanoseconds?)."""
    if ds is None:  # hourly from 1970
        return np.arange(rows, dtype=np.int64) * 3600, False
    if isinstance(ds, np.ndarray) and ds.dtype.kind in "iu":
        t, nanoseconds = ds, False  # seconds since 1970
    else:
        t, nanoseconds = _nanoseconds(ds if isinstance(ds, np.ndarray) else np.asarray(ds), "ds",
                                      source), True  # fmt: skip
    if t.shape != (rows,):
        raise ValueError(f"{source}: {t.shape[0] if t.ndim else 0} times in ds for {rows} rows")
    return t, nanoseconds


def _times(seconds: np.ndarray) -> np.ndarray:
    """Seconds since 1970 as datetime64[ns] (pandas' time type)."""
    return (seconds * 1_000_000_000).view("datetime64[ns]")


# ---- results ------------------------------------------------------------------------------------


@dataclass
class ForecastArrays:
    """A forecast as arrays (:meth:`Forecaster.predict_numpy`): rows are the forecast steps of
    every series, one after another."""

    timestamps: np.ndarray  # (rows,) int64 seconds since 1970 UTC
    values: np.ndarray  # (rows, K) float32 point forecast, columns as `columns`
    columns: List[str]
    ids: Optional[List[str]] = None  # (rows,) series of each row (long format)
    levels: List[float] = field(default_factory=list)  # quantile levels
    quantiles: Optional[np.ndarray] = None  # (rows, K, Q) float32, sorted along Q


@dataclass
class Explanation:
    """What :meth:`Forecaster.explain` found for one test window (as ``attend explain``).

    weights: the window's attention maps by name ("encoder-self_L0", "cross_L1", ...): float32
        (heads, queries, keys); PatchTST (variables, heads, patches, patches).
    head_stats: one row per layer and head: mean attention distance and entropy over the test set.
    selection: TFT's variable-selection weights ("static", "history", "future"), a DataFrame each
        (variable, test_average, this_forecast); empty for other models.
    """

    report: str  # report.html
    window: int  # the test window explained
    origin: pd.Timestamp  # its forecast origin (the last input row's time)
    weights: Dict[str, np.ndarray]
    head_stats: pd.DataFrame
    selection: Dict[str, pd.DataFrame]
    files: List[str]

    def stacked(self, role: str) -> np.ndarray:
        """The maps of one role ("encoder-self", "decoder-self", "cross") stacked over layers:
        (layers, heads, queries, keys); PatchTST's (layers, variables, heads, patches, patches).
        Layers of different shapes (Informer's distilling) cannot be stacked: take them from
        `weights`."""
        names = sorted(
            (n for n in self.weights if n.startswith(role + "_L")),
            key=lambda n: int(n.rsplit("_L", 1)[1]),
        )
        if not names:
            raise ValueError(f"no '{role}' attention (maps: {', '.join(self.weights)})")
        shapes = {self.weights[n].shape for n in names}
        if len(shapes) > 1:
            raise ValueError(f"'{role}' layers differ in shape {sorted(shapes)}; use .weights")
        return np.stack([self.weights[n] for n in names])


# ---- the Forecaster -----------------------------------------------------------------------------


class Forecaster:
    """A forecasting model trained and run by attend's C++ library.

    Example::

        import attend, pandas as pd
        df = pd.read_csv("data/own/monthly.csv", parse_dates=["ds"])  # unique_id, ds, y
        f = attend.Forecaster("PatchTST", h=12, input_size=24, d_model=16, patch_len=6,
                              train_epochs=5)
        f.fit(df)
        forecast = f.predict()          # unique_id, ds, y: the 12 months after each series
        cv = f.cross_validation(df, n_windows=2)
        f.save("models/monthly")        # a CLI checkpoint folder: attend forecast --checkpoint ...

    Args:
        model: one of :func:`attend.models` ("PatchTST", "iTransformer", "TFT", ...).
        h: forecast horizon (run.py's ``pred_len``; give one spelling).
        input_size: input window length (``seq_len``).
        freq: the time-feature frequency ("h", "D", "15min", "W-TUE", "MS", ...); None infers it
            from the data's spacing (``--freq auto``).
        id_col: long format's series-id column; a DataFrame without it is wide (one series,
            every value column a channel).
        time_col: the time column; None takes "ds", else "date", else the DatetimeIndex.
        target: the target column (``features="S"``/``"MS"``, and the column TSLib puts last);
            None takes "y" when the data has it, else its last value column.
        threads: worker threads for this object's work; None uses every core.
        verbose: print training progress and notes (to stderr) as the CLI does.
        checkpoints: folder of the run folders; None keeps them in a temporary folder removed
            with the object (use :meth:`save` to keep a model).
        **flags: any other run.py / attend flag by name: ``d_model=16``, ``n_heads=4``,
            ``train_epochs=3``, ``batch_size=32``, ``learning_rate=1e-3``, ``loss="MAE"``,
            ``quantiles=[0.1, 0.5, 0.9]``, ``known_columns=["price"]``, ``missing="ffill"``,
            ``label_len`` (default: min(48, input_size)), ``seed``, ... (``attend --help``).

    Errors raise ValueError with the library's message (naming the keyword, column or row at
    fault), FileNotFoundError for missing files and folders, TypeError for arguments of the
    wrong type.
    """

    def __init__(
        self,
        model: str = "PatchTST",
        h: Optional[int] = None,
        input_size: Optional[int] = None,
        freq: Optional[str] = None,
        *,
        id_col: str = "unique_id",
        time_col: Optional[str] = None,
        target: Optional[str] = None,
        threads: Optional[int] = None,
        verbose: bool = True,
        checkpoints: Optional[PathLike] = None,
        **flags: Any,
    ) -> None:
        for alias, name, value in (("h", "pred_len", h), ("input_size", "seq_len", input_size)):
            if value is not None and name in flags:
                raise ValueError(f"give {alias} or {name}, not both ({alias}={value}, "
                                 f"{name}={flags[name]})")  # fmt: skip
            if value is not None:
                flags[name] = value
        if threads is not None and (not isinstance(threads, int) or threads < 0):
            raise ValueError(f"threads must be an int >= 0 (0 or None: all cores), got {threads!r}")
        flags["model"] = model
        flags["freq"] = "auto" if freq is None else freq
        flags.setdefault("data", "custom")
        if "label_len" not in flags:
            flags["label_len"] = min(48, int(flags.get("seq_len", 96)))
        self._options: Dict[str, Any] = flags
        self._target = target
        self._layout = _Layout(time_col, id_col)
        self.threads = 0 if threads is None else threads
        self.verbose = verbose
        self._own_checkpoints = checkpoints is None
        self._work = Path(tempfile.mkdtemp(prefix="attend-")) if checkpoints is None else None
        self._checkpoints = str(self._work if checkpoints is None else checkpoints)
        self._dir: Optional[str] = None  # the trained checkpoint folder
        self._predictor: Optional[Any] = None
        self._fit_target: Optional[str] = None  # the target the last fit used
        self._table: Optional[Any] = None  # the data of the last fit
        self._array_columns: Optional[List[str]] = None  # names given to numpy data's columns
        self.metrics_: Optional[Dict[str, Any]] = None  # the test metrics of the last fit
        self._explained = 0
        # options checked now: a bad keyword fails here, not after loading data
        _attend.check_options(self._run_options(target or "y"))

    def __del__(self) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def __repr__(self) -> str:
        o = self._options
        state = f"trained in {self._dir}" if self._dir else "not trained"
        return (f"Forecaster(model={o['model']!r}, h={o.get('pred_len', 96)}, "
                f"input_size={o.get('seq_len', 96)}, freq={o['freq']!r}; {state})")  # fmt: skip

    # -- configuration --

    def _run_options(self, target: str) -> Dict[str, Any]:
        o = dict(self._options)
        o["target"] = target
        o["checkpoints"] = self._checkpoints
        o["id_col"] = self._layout.id_col
        if self._layout.time_col is not None:
            o["time_col"] = self._layout.time_col
        return o

    def _target_of(self, table: Any) -> str:
        if self._target is not None:
            return self._target
        return "y" if "y" in table.columns else table.columns[-1]

    @property
    def options(self) -> Dict[str, Any]:
        """Every option of the run after the checks and defaults, as config.json writes them.
        Before a fit without ``target=``, ``"target"`` is None: fit picks ``y`` when the data has
        it, else the last value column."""
        target = self._target or self._fit_target
        o = _attend.check_options(self._run_options(target or "y"))
        if target is None:
            o["target"] = None
        return o

    @property
    def checkpoint(self) -> Optional[str]:
        """The trained checkpoint folder (None before fit)."""
        return self._dir

    def _need_trained(self, what: str) -> str:
        if self._dir is None:
            raise ValueError(f"{what} needs a trained model: call fit() first, or attend.load()")
        return self._dir

    def _data(self, data: Optional[Data], what: str, source: str):
        if data is None:
            if self._table is None:
                raise ValueError(f"{what} needs data: give a DataFrame (this model was loaded)")
            return self._table
        return _table(data, self._layout, source, self._array_columns)

    # -- training --

    def fit(self, df: Data, *, ds: Optional[Any] = None, resume: bool = False) -> "Forecaster":
        """Trains on `df` (its train and validation splits, TSLib's 70/10/20 or ``val_start`` /
        ``test_start``), keeps the best epoch and tests it on the test split (``metrics_``).

        Args:
            df: a long DataFrame (id_col, time column, value columns), a wide one (a time column
                or DatetimeIndex and value columns), a numpy array (T,) or (T, C) (times `ds`, or
                hourly from 1970), or a CSV file's path.
            ds: the times of a numpy array's rows, one per row: datetime64, integers (seconds
                since 1970 UTC) or text.
            resume: continue the interrupted run whose state is in this Forecaster's run folder.

        Ctrl-C stops training at the next batch, saves a resumable state and raises
        KeyboardInterrupt; ``fit(df, resume=True)`` continues from it.
        """
        if isinstance(df, np.ndarray):
            table = _array_table(df, ds, None, "array")
            self._array_columns = list(table.columns)
        else:
            if ds is not None:
                raise ValueError("ds= goes with a numpy array; a DataFrame has its time column")
            table = _table(df, self._layout, "DataFrame")
            self._array_columns = None
        options = self._run_options(self._target_of(table))
        self._fit_target = options["target"]
        # the names the data has (a wide table has no id column): config.json records them for
        # attend forecast and attend test
        options["id_col"], options["time_col"] = table.id_column, table.time_column
        if isinstance(df, (str, os.PathLike)):
            path = Path(os.fspath(df))
            options["root_path"], options["data_path"] = str(path.parent), path.name
        else:  # config.json names the data as its source; attend test --data_path replaces it
            options["root_path"], options["data_path"] = ".", table.source
        result = _attend.fit(options, table, threads=self.threads, verbose=self.verbose,
                             resume=resume)  # fmt: skip
        self._dir = result["dir"]
        self._table = table
        self._predictor = None
        self.metrics_ = result["metrics"]
        return self

    def test(self, df: Optional[Data] = None, *, inverse: bool = False) -> Dict[str, Any]:
        """Metrics of the trained model on the test split of `df` (default: the fit's data), as
        ``attend test``: mae, mse, rmse, mape, mspe (a quantile model adds pinball, coverage,
        interval and crps; a metric that is not finite is None); `inverse` computes them in the
        data's units rather than standardised."""
        checkpoint = self._need_trained("test()")
        table = self._data(df, "test()", "DataFrame")
        return _attend.test(checkpoint, table, {"inverse": inverse}, threads=self.threads)

    # -- forecasting --

    def _get_predictor(self):
        if self._predictor is None:
            self._set_predictor(_attend.Predictor(self._need_trained("predict()"), self.threads))
        return self._predictor

    def _set_predictor(self, predictor) -> None:
        self._predictor = predictor
        self._levels: List[float] = list(predictor.config.get("quantiles") or [])

    def _forecast(self, df, future, ids, array_ds=None):
        p = self._get_predictor()
        if isinstance(df, np.ndarray):
            table = _array_table(df, array_ds, self._array_columns or list(p.columns), "array")
        else:
            table = self._data(df, "predict()", "DataFrame")
        future_table = None
        if future is not None:
            if isinstance(future, np.ndarray):
                raise TypeError("future: give a DataFrame of the known columns' future values")
            future_table = _table(future, self._layout, "future")
        r = p.forecast(table, list(ids or []), future_table)
        if r["ids"] is None:  # wide: the input's time column (the CLI's CSV says "date")
            r["time_column"] = table.time_column
        return r

    def predict(
        self,
        df: Optional[Data] = None,
        future: Optional[pd.DataFrame] = None,
        ids: Optional[Sequence[str]] = None,
    ) -> pd.DataFrame:
        """The next h steps after the end of each series of `df` (default: the fit's data), in
        the data's units, as ``attend forecast``.

        Args:
            df: recent history (at least input_size rows per series), in the fit's layout.
            future: a model trained with ``known_columns`` reads their values for the h forecast
                steps here (the time and id columns and the known columns, one row per step).
            ids: long format: forecast only these series.

        Returns:
            Long format: id_col, the time column, the forecast columns; wide: the time column
            (the input's name; the CLI's CSV says "date") and the forecast columns. A quantile
            model adds "<column>_q<level>" beside each column (as the CLI's CSV). Values are
            float32.
        """
        r = self._forecast(df, future, ids)
        out: Dict[str, Any] = {}
        if r["ids"] is not None:
            out[r["id_column"]] = r["ids"]
        out[r["time_column"]] = _times(r["timestamps"])
        for k, c in enumerate(r["columns"]):
            out[c] = r["values"][:, k]
            for j, level in enumerate(r["levels"]):
                out[_attend.quantile_column(c, level)] = r["quantiles"][:, k, j]
        return pd.DataFrame(out)

    def predict_numpy(
        self, y: np.ndarray, ds: Optional[Any] = None, future: Optional[pd.DataFrame] = None
    ) -> ForecastArrays:
        """The fast path: a forecast of one wide series given as an array (T, K) (or (T,)) of the
        model's columns in order (``y`` at hourly steps from 1970 unless `ds` gives the times);
        returns arrays, no DataFrame is built."""
        y = np.asarray(y)
        if future is None and y.ndim in (1, 2):
            p = self._get_predictor()
            times, nanoseconds = _array_times(ds, y.shape[0], "array")
            columns, t, values, quantiles = p.forecast_wide(y if y.ndim == 2 else y[:, None],
                                                            times, nanoseconds)  # fmt: skip
            return ForecastArrays(t, values, columns, None, self._levels, quantiles)
        r = self._forecast(y, future, None, ds)
        return ForecastArrays(
            timestamps=r["timestamps"], values=r["values"], columns=r["columns"], ids=r["ids"],
            levels=r["levels"], quantiles=r["quantiles"],
        )  # fmt: skip

    def cross_validation(
        self,
        df: Optional[Data] = None,
        n_windows: int = 1,
        step: Optional[int] = None,
        refit: int = 0,
    ) -> pd.DataFrame:
        """Rolling-origin evaluation over the test split, as ``attend backtest``: `n_windows`
        cut-offs per series, `step` steps apart (default h); `refit` 0 forecasts every window
        with the trained model, N >= 1 trains a fresh model (this Forecaster's options) at every
        N-th cut-off on the data before it.

        Returns:
            One row per forecast step of each window: id_col (long format), "cutoff", the time
            column, and for each column its forecast and "<column>_actual" (NaN where the value
            is missing). ``result.attrs["metrics"]`` holds the overall and per-cut-off metrics.
        """
        if refit == 0:
            checkpoint = self._need_trained("cross_validation(refit=0)")
            options: Dict[str, Any] = {}
        else:
            checkpoint = ""
            options = self._run_options(self._target)  # type: ignore[arg-type]
        table = self._data(df, "cross_validation()", "DataFrame")
        if refit != 0:
            options["target"] = self._target_of(table)
            options["id_col"], options["time_col"] = table.id_column, table.time_column
            options["root_path"], options["data_path"] = ".", table.source
        r = _attend.backtest(checkpoint, options, table, n_windows=n_windows, step=step or 0,
                             refit=refit, threads=self.threads, verbose=self.verbose)  # fmt: skip
        out: Dict[str, Any] = {}
        if r["ids"] is not None:
            out[r["id_column"]] = r["ids"]
        out["cutoff"] = _times(r["cutoff"])
        out[r["time_column"]] = _times(r["timestamps"])
        for k, c in enumerate(r["columns"]):
            out[c] = r["forecast"][:, k]
            out[c + "_actual"] = r["actual"][:, k]
        frame = pd.DataFrame(out)
        frame.attrs["metrics"] = r["metrics"]
        return frame

    # -- interpretability --

    def explain(
        self,
        index: Optional[int] = None,
        *,
        date: Optional[str] = None,
        df: Optional[Data] = None,
        out: Optional[PathLike] = None,
    ) -> Explanation:
        """Attention weights of one test window and per-head statistics, as ``attend explain``
        (which also writes heatmaps and report.html into `out`, default a temporary folder).

        Args:
            index: the test window (default 0); or `date`, the forecast origin's time.
            df: the data (default: the fit's).
        """
        checkpoint = self._need_trained("explain()")
        table = self._data(df, "explain()", "DataFrame")
        if out is None:
            if self._work is None:
                self._work = Path(tempfile.mkdtemp(prefix="attend-"))
            self._explained += 1
            out = self._work / f"explain_{self._explained}"
        r = _attend.explain(checkpoint, table, os.fspath(out), index=index, date=date or "",
                            threads=self.threads)  # fmt: skip
        folder = Path(os.fspath(out))
        weights = {p.stem: np.load(p) for p in sorted((folder / "weights").glob("*.npy"))}
        stats = json.loads((folder / "head_stats.json").read_text())
        selection: Dict[str, pd.DataFrame] = {}
        sel_path = folder / "selection_weights.json"
        if sel_path.exists():
            for part, v in json.loads(sel_path.read_text()).items():
                if isinstance(v, dict) and "variables" in v:
                    selection[part] = pd.DataFrame({
                        "variable": v["variables"], "test_average": v.get("test_average"),
                        "this_forecast": v.get("this_forecast"),
                    })  # fmt: skip
        return Explanation(
            report=r["report"], window=r["window"], origin=pd.Timestamp(r["origin"], unit="s"),
            weights=weights, head_stats=pd.DataFrame(stats.get("heads", [])),
            selection=selection, files=list(r["files"]),
        )  # fmt: skip

    # -- checkpoints --

    def save(self, path: PathLike) -> str:
        """Writes the trained checkpoint (weights.safetensors, config.json, scaler.json and the
        test metrics, metrics.json) to the
        folder `path`, replacing it in one step; ``attend forecast --checkpoint path`` reads it."""
        _attend.save_checkpoint(self._need_trained("save()"), os.fspath(path))
        return os.fspath(path)


def load(
    path: PathLike,
    *,
    threads: Optional[int] = None,
    verbose: bool = True,
    checkpoints: Optional[PathLike] = None,
) -> Forecaster:
    """A Forecaster over a checkpoint folder (``attend train``'s run folder, or one saved with
    :meth:`Forecaster.save`): ready to predict, test, cross-validate and explain with data you
    give; ``fit`` trains anew with the checkpoint's options."""
    predictor = _attend.Predictor(os.fspath(path), 0 if threads is None else threads)
    config = dict(predictor.config)
    for key in ("attend_format", "checkpoints", "root_path", "data_path", "id_col", "time_col",
                "threads", "resume", "is_training"):  # fmt: skip
        config.pop(key, None)
    model, freq, target = config.pop("model"), config.pop("freq"), config.pop("target")
    time_col = predictor.time_column or None
    f = Forecaster(model, freq=freq, target=target, id_col=predictor.id_column or "unique_id",
                   time_col=time_col, threads=threads, verbose=verbose, checkpoints=checkpoints,
                   **config)  # fmt: skip
    f._dir = os.fspath(path)
    f._set_predictor(predictor)
    return f
