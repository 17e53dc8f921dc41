"""Ridgeline: plan MoE decode deployments, large expert parallelism (EP) vs attention-FFN
disaggregation (AFD), and see why one wins.

Every ``ridgeline`` command is a function here, with the command's flags as keyword arguments
(``--max-gpus`` is ``max_gpus``), and returns exactly what ``ridgeline <command> --json`` prints:

>>> import ridgeline as rl
>>> p = rl.plan("deepseek-v3", "h800", slo="50 ms")      # or slo=0.05 (seconds)
>>> p["winner"], p["ratio"]                               # doctest: +SKIP
('afd', 1.05)
>>> p.to_frame()                                          # the top plans as a DataFrame (pandas)

Commands: plan, plan_service (``ridgeline plan --isl``) and emit (its ``--emit`` files), evaluate, sweep, compare, roofline, commroof, deadzone, imbalance, validate;
load_calibration reads a calibration file for ``calibration=``. Quantities take a unit string
("50 ms", "400 Gb/s", "80 GB") or a number in SI base units (seconds, bytes, bytes/s, FLOP/s).
Bad input raises ValueError (KeyError for an unknown id) with the CLI's message, the flag
written as the keyword argument. Charts: ridgeline.plot (matplotlib).
"""
from __future__ import annotations

import json as _json
import numbers as _numbers
import os as _os
import re as _re
import warnings as _warnings
from collections.abc import Mapping as _Mapping
from pathlib import Path as _Path
from typing import Any, Iterable, Optional, Sequence, Union

from . import _core
from ._core import (  # noqa: F401
    Accelerator,
    ConfigError,
    Database,
    Dimension,
    Error,
    Link,
    MissingDataError,
    ModelSpec,
    Scenario,
    UnknownIdError,
    UsageError,
    __version__,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "plan", "plan_service", "emit", "evaluate", "sweep", "compare", "roofline", "commroof", "deadzone", "imbalance", "validate",
    "load_calibration", "parse_quantity", "database", "scenario", "frame", "Result", "Calibration",
    "Database", "Scenario", "Accelerator", "ModelSpec", "Link", "Dimension",
    "Error", "ConfigError", "UsageError", "UnknownIdError", "MissingDataError", "load_scenario",
    "parse_scenario", "__version__",
]

Quantity = Union[str, float, int]
Ids = Union[str, Sequence[str]]

# --- results --------------------------------------------------------------------------------


class Result(dict):
    """A command's result: the dict ``ridgeline <command> --json`` prints (``meta`` included).

    ``to_frame()`` gives its table (plan: the top plans; sweep: rows; compare: cells; roofline:
    operators; commroof: points of every model; deadzone and imbalance: rows; validate: points)
    as a pandas DataFrame, nested fields flattened with dots (``breakdown.attention_ms``).
    """

    command: str = ""

    def to_frame(self):
        """This result's table as a pandas DataFrame (needs pandas: pip install 'ridgeline[pandas]')."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("to_frame() needs pandas: pip install 'ridgeline[pandas]'") from e
        rows = _table_rows(self.command, self)
        return pd.json_normalize(rows)


def _table_rows(command: str, r: dict) -> list:
    if command in ("plan", "plan_service"):
        return list(r.get("top", []))
    if command == "evaluate":
        return list(r["results"]) if "results" in r else [{k: v for k, v in r.items() if k != "meta"}]
    if command == "commroof":
        return [dict(p, model=m["model"]) for m in r["models"] for p in m["points"]]
    key = {"sweep": "rows", "compare": "cells", "roofline": "operators", "deadzone": "rows",
           "imbalance": "rows", "alpha": "alpha", "validate": "points"}[command]
    return list(r[key])


def _result(command: str, obj: dict) -> Result:
    res = Result(obj)
    res.command = command
    return res


class Calibration(dict):
    """A checked calibration file (``load_calibration``): its file, description, source and the
    efficiency fields it sets. Pass it (or the path) as ``calibration=`` to plan, evaluate or validate."""

    def __fspath__(self) -> str:
        return self["file"]


# --- argument normalisation -----------------------------------------------------------------

_FLAG = _re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")
_FLAG_TO_KWARG = {"lambda": "lambda_ep", "kv-cache": "kv_cache", "emit": "kind"}


def _kwarg_message(msg: str) -> str:
    """The CLI's message with each --flag written as the keyword argument that sets it (and without
    the CLI's pointer to --help)."""
    msg = msg.removesuffix(" (see --help)")
    return _FLAG.sub(lambda m: _FLAG_TO_KWARG.get(m.group(1), m.group(1).replace("-", "_")), msg)


def _call(fn, *args):
    try:
        return fn(*args)
    except (ValueError, KeyError) as e:
        msg = e.args[0] if e.args else str(e)
        raise type(e)(_kwarg_message(str(msg))) from None


def _qty(value: Any, name: str) -> Optional[str]:
    """A quantity as the CLI takes it: unit strings pass through, numbers are SI values."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, _numbers.Real):
        raise TypeError(f"{name}: expected a number (SI units) or a string with a unit such as \"50 ms\", "
                        f"got {type(value).__name__}")
    text = repr(float(value)) if not isinstance(value, _numbers.Integral) else str(int(value))
    unit = _SI_UNITS.get(name)  # the CLI refuses a bare whole number where a time or size is due
    return f"{text} {unit}" if unit else text


# The SI unit of each quantity argument that is not a token count (numbers are SI values).
_SI_UNITS = {"slo": "s", "slos": "s", "ttft": "s", "gap": "s", "mtp_step_gap": "s", "scale_out_bandwidth": "B/s"}


def _qtys(value: Any, name: str) -> Optional[list]:
    if value is None:
        return None
    if isinstance(value, (str, _numbers.Real)):
        value = [value] if not isinstance(value, str) else [v.strip() for v in value.split(",") if v.strip()]
    return [_qty(v, name) for v in value]


def _ids(value: Any, name: str) -> Optional[list]:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Iterable):
        out = list(value)
        if all(isinstance(v, str) for v in out):
            return out
    raise TypeError(f"{name}: expected an id such as \"h800\" or a list of ids, got {value!r}")


def _int(value: Any, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _numbers.Real):
        raise TypeError(f"{name}: expected a whole number, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name}: \"{value}\" is not a whole number")
    v = int(value)
    if abs(v) > 2**31 - 1:
        raise ValueError(f"{name}: \"{v}\" is outside the range of a whole number the CLI accepts")
    return v


def _float(value: Any, name: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    return float(value)


def _context_cv(value: Any) -> Optional[float]:
    """context_cv: the CLI's --context-cv range (the C++ side reads a negative value as "not given")."""
    v = _float(value, "context_cv")
    if v is not None and not (0.0 <= v <= 10.0):
        raise ValueError(f'context_cv: "{value}" is not a finite number in [0, 10]')
    return v


def _int_list_text(value: Any, name: str) -> Optional[str]:
    """--nf / --ranks / --tokens: "1..64", 8, [1, 2, 4] or range(1, 65)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, _numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Iterable):
        return ",".join(str(_int(v, name)) for v in value)
    raise TypeError(f"{name}: expected a list or range of whole numbers such as \"1..64\", got {value!r}")


def _number_list_text(value: Any, name: str) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _numbers.Real):
        return repr(float(value))
    return ",".join(repr(_float(v, name)) for v in value)


def _path(value: Any) -> Optional[str]:
    if value is None:
        return None
    return _os.fspath(value)


def _renamed(new_value: Any, new_default: Any, old_value: Any, new: str, old: str, fn: str) -> Any:
    """The value of a keyword renamed to the CLI's one spelling per concept (``--model``, ``--slo``,
    ``--context``): the old keyword still works, with a DeprecationWarning."""
    if old_value is None:
        return new_value
    if new_value is not new_default and new_value != new_default:
        raise TypeError(f"{fn}() got both {new}= and its old spelling {old}=; pass {new}= only")
    _warnings.warn(f"{fn}({old}=...) is deprecated: write {new}= (the CLI's --{new})", DeprecationWarning,
                   stacklevel=3)
    return old_value


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


# --- databases and scenarios ----------------------------------------------------------------

_DEFAULT_DB: Optional[Database] = None


def _data_dir() -> _Path:
    return _Path(__file__).resolve().parent / "data"


def database() -> Database:
    """The hardware (hwdb/) and model (models/) databases: $RIDGELINE_DATA_DIR when set, else the
    copies shipped inside the installed package, else the source tree. Loaded once and cached."""
    global _DEFAULT_DB
    if _DEFAULT_DB is None:
        data = _data_dir()
        if "RIDGELINE_DATA_DIR" not in _os.environ and (data / "hwdb").is_dir():
            _DEFAULT_DB = Database.load(str(data / "hwdb"), str(data / "models"))
        else:
            _DEFAULT_DB = Database.default()
    return _DEFAULT_DB


def _db(db: Optional[Database]) -> Database:
    return db if db is not None else database()


def scenario(obj: dict, db: Optional[Database] = None, name: str = "<dict>") -> Scenario:
    """A Scenario from a dict in the scenario-file format (README "Scenario files")."""
    return _call(parse_scenario, _json.dumps(obj), name, _db(db))


def frame(rows):
    """Flatten result dicts (e.g. [evaluate(s) for s in ...]) into a pandas DataFrame."""
    import pandas as pd  # optional dependency

    return pd.json_normalize(list(rows))


_KINDS = {
    "time": Dimension.seconds, "seconds": Dimension.seconds, "s": Dimension.seconds,
    "size": Dimension.bytes, "bytes": Dimension.bytes,
    "bandwidth": Dimension.bytes_per_s, "bytes_per_s": Dimension.bytes_per_s,
    "compute": Dimension.flops_per_s, "flops_per_s": Dimension.flops_per_s,
    "power": Dimension.watts, "watts": Dimension.watts,
    "count": Dimension.count, "tokens": Dimension.count,
    "price": Dimension.usd_per_hour, "usd_per_hour": Dimension.usd_per_hour,
}


def parse_quantity(text: str, kind: Union[str, Dimension, None] = None) -> float:
    """A quantity in SI base units: ``parse_quantity("50 ms")`` is 0.05, ``"400 Gb/s"`` 5e10,
    ``"80 GB"`` 8e10, ``"4096"`` 4096 (a count).

    ``kind`` (optional) insists on one: "time", "size", "bandwidth", "compute", "power", "count"
    or "price" (or a ``Dimension``); without it the unit decides. Raises ValueError with the reason.
    """
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(sorted(set(_KINDS)))}")
        kind = _KINDS[kind]
    if kind is not None:
        return _call(_core.parse_quantity_as, text, kind)
    errors = []
    for dim in (Dimension.seconds, Dimension.bytes, Dimension.bytes_per_s, Dimension.flops_per_s,
                Dimension.watts, Dimension.count):
        try:
            return _core.parse_quantity_as(text, dim)
        except ValueError as e:
            errors.append(str(e))
    # A malformed number says so under every kind; an unknown unit is named once.
    raise ValueError(errors[-1] if "is not" in errors[-1] else
                     f"\"{text}\": unknown unit; expected a time (\"50 ms\"), size (\"80 GB\"), bandwidth "
                     f"(\"400 Gb/s\"), compute rate (\"989 TFLOPS\"), power (\"700 W\") or a plain count")


def load_calibration(path: Union[str, "_os.PathLike[str]"]) -> Calibration:
    """Read and check a calibration file (``ridgeline-calibrate`` output, or hand-written
    efficiencies with a "source"). Returns a Calibration (file, description, source, fields); pass
    it, or the path, as ``calibration=`` to plan, evaluate or validate. Raises ValueError naming the
    file, the JSON path and the fix for a bad file."""
    return Calibration(_call(_core.load_calibration_json, _os.fspath(path)))


def _calibration(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, dict):
        return value["file"]
    return _os.fspath(value)


# --- commands -------------------------------------------------------------------------------


def _search_kwargs(objective, strategy, gpus, max_gpus, attention_hardware, ffn_hardware, weights, kv_cache,
                   dispatch, combine, mtp_acceptance, mtp_draft_tokens, afd_micro_batches, require_bubble_free,
                   scan_all_attention_counts, gap, mtp_step_gap, routing, calibration, ep_transport,
                   afd_transport, dispatch_styles, threads, calibration_for=None, calibration_any_device=False,
                   attention_tp=None) -> dict:
    return _drop_none({
        "calibration_for": calibration_for, "calibration_any_device": bool(calibration_any_device),
        "attention_tp": None if attention_tp is None else
        [_int(v, "attention_tp") for v in ([attention_tp] if isinstance(attention_tp, int) else attention_tp)],
        "objective": objective, "strategy": strategy, "gpus": _int(gpus, "gpus"),
        "max_gpus": _int(max_gpus, "max_gpus"),
        "attention_hardware": _ids(attention_hardware, "attention_hardware"),
        "ffn_hardware": _ids(ffn_hardware, "ffn_hardware"), "weights": weights, "kv_cache": kv_cache,
        "dispatch": dispatch, "combine": combine, "mtp_acceptance": _float(mtp_acceptance, "mtp_acceptance"),
        "mtp_draft_tokens": _int(mtp_draft_tokens, "mtp_draft_tokens"),
        "afd_micro_batches": None if afd_micro_batches is None else
        [_int(v, "afd_micro_batches") for v in ([afd_micro_batches] if isinstance(afd_micro_batches, int)
                                                else afd_micro_batches)],
        "require_bubble_free": bool(require_bubble_free),
        "scan_all_attention_counts": bool(scan_all_attention_counts), "gap": _qty(gap, "gap"),
        "mtp_step_gap": _qty(mtp_step_gap, "mtp_step_gap"), "routing": None if routing is None else str(routing),
        "calibration": _calibration(calibration), "ep_transport": ep_transport, "afd_transport": afd_transport,
        "dispatch_styles": _ids(dispatch_styles, "dispatch_styles"), "threads": _int(threads, "threads"),
    })


def plan(model: Union[str, Database] = "deepseek-v3", hardware: Ids = "h800", *legacy,
         slo: Quantity = "50 ms", context: Quantity = 4096, objective: str = "gpu", strategy: str = "both",
         gpus: int = 0, max_gpus: Optional[int] = None, top: int = 1, pareto: bool = False,
         attention_hardware: Optional[Ids] = None, ffn_hardware: Optional[Ids] = None,
         weights: str = "fp8", kv_cache: str = "bf16", dispatch: str = "fp8", combine: str = "bf16",
         mtp_acceptance: float = 1.0, mtp_draft_tokens: int = 0, afd_micro_batches: Sequence[int] = (3, 4),
         require_bubble_free: bool = False, scan_all_attention_counts: bool = False,
         gap: Optional[Quantity] = None, mtp_step_gap: Optional[Quantity] = None, routing: str = "uniform",
         calibration: Any = None, ep_transport: Optional[str] = None, afd_transport: Optional[str] = None,
         dispatch_styles: Ids = ("low_latency",), sensitivity: bool = False, threads: int = 0,
         calibration_for: Optional[str] = None, calibration_any_device: bool = False,
         attention_tp: Optional[Sequence[int]] = None, context_cv: Optional[float] = None,
         score_bound: bool = True, db: Optional[Database] = None) -> Result:
    """Find the best decode deployment of ``model`` on ``hardware`` under a TPOT SLO (``ridgeline plan``).

    Searches EP (attention data-parallel on every GPU, experts over all GPUs, 1-2 micro-batches) and
    AFD (attention and FFN on separate GPUs, 3+ ping-pong micro-batches), sizing each shape's batch to
    the SLO and HBM. Returns ``ridgeline plan --json``:

    - ``ep`` / ``afd``: the best plan of each strategy (None when none is feasible): ``plan``
      (a label), ``tokens_per_s_per_gpu``, ``tpot_ms``, ``hfu``, ``binding``, ``breakdown`` (stage
      times in ms), ``deployment`` (a scenario's deployment block) and ``score``;
    - ``winner`` ("ep", "afd" or "none") and ``ratio`` (best AFD score / best EP score);
    - ``top`` (the best ``top`` plans per strategy), ``pareto`` (with pareto=True), ``rejected``
      (shapes rejected by reason), ``inputs`` (each realism input and whether it was a default,
      given or calibrated), ``sensitivity_resized`` / ``sensitivity`` and ``verdict_robustness``.

    Arguments (the CLI's flags): slo "50 ms" or 0.05 s; context 4096 tokens; objective gpu |
    cost | watt | hfu (case-insensitive; power = watt); strategy ep | afd | both; hardware "h800" or
    ["h20", "l40s"] (several kinds: ``per_hardware`` holds the best plan on each kind alone);
    attention_hardware / ffn_hardware for heterogeneous AFD; gap "5 ms"; routing uniform | balanced |
    zipf:S | 1.2; context_cv the spread of KV lengths over the running sequences (coefficient of
    variation; default 0.58 from Azure's public conversation trace, 0 = fixed-length sequences);
    calibration a file, load_calibration() or a bare hardware id ("h200": its profile in
    hwdb/calibration/), refused on other hardware unless calibration_for="h800" maps it or
    calibration_any_device=True; attention_tp EP attention-TP sizes to try (default 1, 2, 4, 8;
    any above 1 also tries pure-TP workers); ep_transport / afd_transport
    deepep_low_latency | deepep_normal | nccl | cpu_rdma; sensitivity=True re-searches at each end of
    every uncertain parameter's range; score_bound=False also searches the AFD plan families whose
    score bound is below the best plans found (slower, the same plans: ``--no-bound``).
    ``result.to_frame()`` tabulates ``top``.

    Example: ``rl.plan("dbrx", "h20", attention_hardware="h20", ffn_hardware="l40s", weights="bf16",
    slo="150 ms", objective="cost")``
    """
    if isinstance(model, Database):  # the 0.1 form: plan(db, model, [hardware], ...)
        db, model, hardware = model, hardware, (legacy[0] if legacy else "h800")
    elif legacy:
        raise TypeError("plan() takes 2 positional arguments (model, hardware); pass the rest by keyword")
    kw = _search_kwargs(objective, strategy, gpus, max_gpus, attention_hardware, ffn_hardware, weights, kv_cache,
                        dispatch, combine, mtp_acceptance, mtp_draft_tokens, afd_micro_batches,
                        require_bubble_free, scan_all_attention_counts, gap, mtp_step_gap, routing, calibration,
                        ep_transport, afd_transport, dispatch_styles, threads, calibration_for,
                        calibration_any_device, attention_tp)
    kw.update(model=model, hardware=_ids(hardware, "hardware"), slo=_qty(slo, "slo"),
              context=_qty(context, "context"), top=_int(top, "top"), pareto=bool(pareto),
              sensitivity=bool(sensitivity), no_bound=not score_bound)
    kw.update(_drop_none({"context_cv": _context_cv(context_cv)}))
    return _result("plan", _call(_core.plan, _db(db), kw))


def plan_service(model: str = "deepseek-v3", hardware: Ids = "h800", *, isl: Quantity, osl: Quantity = 1024,
                 ttft: Quantity = "2 s", rate: Optional[float] = None, gpus: int = 0, slo: Quantity = "50 ms",
                 top: int = 1, prefill_hardware: Optional[Ids] = None, decode_hardware: Optional[Ids] = None,
                 prefill_parallel: Ids = ("ep", "tp"),
                 prefill_chunks: Any = (2048, 4096, 8192, 16384, 32768), kv_transport: str = "cpu_rdma",
                 objective: str = "gpu", strategy: str = "both", max_gpus: Optional[int] = None,
                 attention_hardware: Optional[Ids] = None, ffn_hardware: Optional[Ids] = None,
                 weights: str = "fp8", kv_cache: str = "bf16", dispatch: str = "fp8", combine: str = "bf16",
                 mtp_acceptance: float = 1.0, mtp_draft_tokens: int = 0, afd_micro_batches: Sequence[int] = (3, 4),
                 require_bubble_free: bool = False, scan_all_attention_counts: bool = False,
                 gap: Optional[Quantity] = None, mtp_step_gap: Optional[Quantity] = None, routing: str = "uniform",
                 calibration: Any = None, ep_transport: Optional[str] = None, afd_transport: Optional[str] = None,
                 dispatch_styles: Ids = ("low_latency",), threads: int = 0, calibration_for: Optional[str] = None,
                 calibration_any_device: bool = False, attention_tp: Optional[Sequence[int]] = None,
                 context_cv: Optional[float] = None,
         db: Optional[Database] = None) -> Result:
    """Size a whole service, prefill and decode pools, for prompts of ``isl`` tokens
    (``ridgeline plan --isl``; docs/service.md). Returns ``ridgeline plan --isl ... --json``:

    - ``disaggregated``: the best prefill + decode split (``prefill``, ``decode``, ``kv_transfer``,
      ``rate_per_s``, ``ttft_ms`` with ``ttft_breakdown_ms``, ``tpot_ms``, ``gpus``, ``score``; None
      when no split meets the targets); ``colocated``: the chunked-prefill baseline; ``ratio``;
    - ``top`` (the best ``top`` splits), ``rejected``, ``search``, ``inputs``, ``workload``,
      ``sizing``, ``queue_model`` and ``emitted`` (always [] here: see ``emit``).

    Exactly one of ``rate`` (requests/s to serve) and ``gpus`` (the GPUs to fill). Arguments are the
    CLI's flags: isl / osl tokens, ttft "2 s" or seconds (queueing included), slo the TPOT target;
    prefill_hardware / decode_hardware ids (default: hardware); prefill_parallel "ep" / "tp";
    prefill_chunks tokens per pass per attention rank; kv_transport cpu_rdma | nccl | ...; the
    decode-search arguments are plan()'s. ``emit(result, "sglang")`` gives its launch files.

    Example: ``rl.plan_service("deepseek-v3", "h800", isl=4096, osl=1024, ttft="2 s", gpus=64)``
    """
    kw = _search_kwargs(objective, strategy, gpus, max_gpus, attention_hardware, ffn_hardware, weights, kv_cache,
                        dispatch, combine, mtp_acceptance, mtp_draft_tokens, afd_micro_batches,
                        require_bubble_free, scan_all_attention_counts, gap, mtp_step_gap, routing, calibration,
                        ep_transport, afd_transport, dispatch_styles, threads, calibration_for,
                        calibration_any_device, attention_tp)
    kw.update(_drop_none({
        "model": model, "hardware": _ids(hardware, "hardware"), "slo": _qty(slo, "slo"), "top": _int(top, "top"),
        "isl": _qty(isl, "isl"), "osl": _qty(osl, "osl"), "ttft": _qty(ttft, "ttft"), "rate": _float(rate, "rate"),
        "prefill_hardware": _ids(prefill_hardware, "prefill_hardware"),
        "decode_hardware": _ids(decode_hardware, "decode_hardware"),
        "prefill_parallel": _ids(prefill_parallel, "prefill_parallel"),
        "prefill_chunks": _qtys(prefill_chunks, "prefill_chunks"), "kv_transport": kv_transport,
        "context_cv": _context_cv(context_cv),
    }))
    obj, run = _call(_core.plan_service, _db(db), kw)
    res = _result("plan_service", obj)
    res.service_run = run
    return res


def emit(service: Any, kind: str, *, disaggregation_backend: Optional[str] = None,
         db: Optional[Database] = None) -> dict:
    """The launch files ``ridgeline plan --isl ... --emit KIND`` writes for ``service``'s best
    disaggregated plan, as {file name: text}: ``kind`` sglang (sglang-prefill.sh, sglang-decode.sh,
    sglang-router.sh), slurm (service.sbatch), k8s (lws-prefill.yaml, lws-decode.yaml,
    lws-router.yaml), all for SGLang 0.5.2 and its PD router sglang-router 0.1.9; vllm
    (vllm-prefill.sh, vllm-decode.sh), vllm-slurm (vllm-service.sbatch), vllm-k8s
    (vllm-lws-prefill.yaml, vllm-lws-decode.yaml), all ``vllm serve`` for vLLM 0.11.0.
    ``disaggregation_backend``: mooncake | nixl (default: mooncake for SGLang, nixl for vLLM; vLLM
    0.11.0 ships no Mooncake connector, so "mooncake" with a vllm kind raises ValueError). An AFD
    decode pool gets a note, not a command (neither stack runs AFD).

    ``service``: the result of plan_service(), or the dict ``ridgeline plan --isl ... --json``
    prints (e.g. ``json.load`` of a saved file); model and hardware ids in it are looked up in
    ``db`` (default: the bundled databases)."""
    backend = "" if disaggregation_backend is None else disaggregation_backend
    if not isinstance(backend, str):
        raise TypeError(f"emit(): disaggregation_backend must be a str (mooncake | nixl), got {backend!r}")
    run = getattr(service, "service_run", None)
    if run is not None:
        return dict(_call(_core.emit_service, run, kind, backend))
    if not isinstance(service, _Mapping):
        raise TypeError("emit() takes the result of ridgeline.plan_service() or the dict `ridgeline plan --isl ... "
                        f"--json` prints, not {type(service).__name__}")
    try:
        text = _json.dumps(dict(service), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"emit(): the service dict is not plain JSON ({e}). Fix: pass what json.load gives for "
                         "`ridgeline plan --isl ... --json`.") from None
    return dict(_call(_core.emit_service_json, _db(db), text, kind, backend))


def evaluate(scenario: Any, *, calibration: Any = None, gap: Optional[Quantity] = None,
             context: Optional[Quantity] = None, mtp_acceptance: Optional[float] = None,
             routing: Optional[str] = None, calibration_for: Optional[str] = None,
             calibration_any_device: bool = False, context_cv: Optional[float] = None,
         db: Optional[Database] = None) -> Result:
    """Evaluate one fixed deployment (``ridgeline evaluate``): TPOT, tokens/s per GPU, per $ and per W,
    HFU, the per-layer stage times (``breakdown``, ms) and the binding roof or constraint.

    ``scenario``: a Scenario, a scenario file path, a dict in the scenario-file format, or a list of
    them. The result is ``ridgeline evaluate --json``: {"results": [one object per scenario]}, and with
    one scenario its fields also at the top level. Overrides, as the CLI's flags: calibration (a file,
    load_calibration() or a bare hardware id; calibration_for / calibration_any_device to apply it
    to hardware it was not measured on), gap ("5 ms"), context (4096
    tokens), mtp_acceptance (tokens accepted per step), routing (uniform | balanced | zipf:S | 1.2),
    context_cv (KV-length spread: coefficient of variation, 0 = fixed-length sequences).
    The caller's Scenario is never modified.
    """
    d = _db(db)
    items = scenario if isinstance(scenario, (list, tuple)) else [scenario]
    scenarios = []
    for item in items:
        if isinstance(item, Scenario):
            scenarios.append(item)
        elif isinstance(item, dict):
            scenarios.append(globals()["scenario"](item, d))
        else:
            scenarios.append(_call(load_scenario, _os.fspath(item), d))
    if mtp_acceptance is not None and _float(mtp_acceptance, "mtp_acceptance") == -1:  # -1 means "not given" in C++
        raise ValueError('mtp_acceptance: "-1" is not a finite number in [1, 16]')
    kw = _drop_none({"calibration": _calibration(calibration), "gap": _qty(gap, "gap"),
                     "context": _qty(context, "context"), "mtp_acceptance": _float(mtp_acceptance, "mtp_acceptance"),
                     "routing": routing, "calibration_for": calibration_for,
                     "context_cv": _context_cv(context_cv),
                     "calibration_any_device": bool(calibration_any_device) or None})
    return _result("evaluate", _call(_core.evaluate, d, scenarios, kw))


def sweep(model: Ids = "deepseek-v3", hardware: Ids = "h800", *, slo: Any = "50 ms", context: Any = 4096,
          scale_out_bandwidth: Any = None, objective: str = "gpu", strategy: str = "both", gpus: int = 0,
          max_gpus: Optional[int] = None, weights: str = "fp8", kv_cache: str = "bf16", dispatch: str = "fp8",
          combine: str = "bf16", mtp_acceptance: float = 1.0, mtp_draft_tokens: int = 0,
          afd_micro_batches: Sequence[int] = (3, 4), require_bubble_free: bool = False,
          gap: Optional[Quantity] = None, mtp_step_gap: Optional[Quantity] = None, routing: str = "uniform",
          calibration: Any = None, ep_transport: Optional[str] = None, afd_transport: Optional[str] = None,
          dispatch_styles: Ids = ("low_latency",), threads: int = 0, db: Optional[Database] = None,
          models: Ids = None, context_cv: Optional[float] = None) -> Result:
    """The plan search over a grid (``ridgeline sweep``): every combination of model x hardware (each
    kind on its own) x slo x context x scale_out_bandwidth (NIC rate per GPU overriding the hwdb).
    Each axis takes one value or a list ("30 ms", [0.03, 0.05], "400 Gb/s", "deepseek-v3,kimi-k2");
    the keywords are the CLI's flags (``models=`` still works, deprecated). Returns {"objective",
    "rows": [{model, hardware, tpot_slo_ms, context_tokens, scale_out_bandwidth, ep_plan, ep_score,
    afd_plan, afd_score, ratio_afd_over_ep, winner}]}; ``to_frame()`` tabulates the rows."""
    kw = _search_kwargs(objective, strategy, gpus, max_gpus, None, None, weights, kv_cache, dispatch, combine,
                        mtp_acceptance, mtp_draft_tokens, afd_micro_batches, require_bubble_free, False, gap,
                        mtp_step_gap, routing, calibration, ep_transport, afd_transport, dispatch_styles, threads)
    model = _renamed(model, "deepseek-v3", models, "model", "models", "sweep")
    kw.update(_drop_none({"models": _ids(model, "model"), "hardware": _ids(hardware, "hardware"),
                          "slo": _qtys(slo, "slo"), "context": _qtys(context, "context"),
                          "scale_out_bandwidth": _qtys(scale_out_bandwidth, "scale_out_bandwidth"),
                          "context_cv": _context_cv(context_cv)}))
    return _result("sweep", _call(_core.sweep, _db(db), kw))


def compare(model: str = "deepseek-v3", hardware: Ids = "h800", *,
            slo: Any = ("20 ms", "30 ms", "50 ms", "100 ms"), context: Any = (1024, 4096, 16384, 65536),
            objective: str = "gpu", strategy: str = "both", gpus: int = 0, max_gpus: Optional[int] = None,
            weights: str = "fp8", kv_cache: str = "bf16", dispatch: str = "fp8", combine: str = "bf16",
            mtp_acceptance: float = 1.0, mtp_draft_tokens: int = 0, afd_micro_batches: Sequence[int] = (3, 4),
            require_bubble_free: bool = False, gap: Optional[Quantity] = None, routing: str = "uniform",
            calibration: Any = None, ep_transport: Optional[str] = None, afd_transport: Optional[str] = None,
            dispatch_styles: Ids = ("low_latency",), threads: int = 0, db: Optional[Database] = None,
            slos: Any = None, contexts: Any = None, context_cv: Optional[float] = None) -> Result:
    """The AFD-vs-EP crossover map (``ridgeline compare``): for every (context, TPOT SLO) cell the best EP
    and AFD plan and AFD score / EP score (> 1: AFD wins). Returns {"model", "hardware", "cells":
    [{context, tpot_slo, ratio_afd_over_ep, winner, ep_plan, afd_plan}]}; plot it with
    ``ridgeline.plot.crossover_heatmap``. ``slo`` and ``context`` (the CLI's ``--slo`` / ``--context``)
    take one value or a list; ``slos=`` / ``contexts=`` still work, deprecated."""
    kw = _search_kwargs(objective, strategy, gpus, max_gpus, None, None, weights, kv_cache, dispatch, combine,
                        mtp_acceptance, mtp_draft_tokens, afd_micro_batches, require_bubble_free, False, gap,
                        None, routing, calibration, ep_transport, afd_transport, dispatch_styles, threads)
    slo = _renamed(slo, ("20 ms", "30 ms", "50 ms", "100 ms"), slos, "slo", "slos", "compare")
    context = _renamed(context, (1024, 4096, 16384, 65536), contexts, "context", "contexts", "compare")
    kw.update(model=model, hardware=_ids(hardware, "hardware"), slos=_qtys(slo, "slo"),
              contexts=_qtys(context, "context"))
    kw.update(_drop_none({"context_cv": _context_cv(context_cv)}))
    return _result("compare", _call(_core.compare, _db(db), kw))


def roofline(model: str, hardware: str, *, batch: float = 128, context: float = 4096, ep: int = 64,
             weights: str = "fp8", kv: str = "bf16", db: Optional[Database] = None) -> Result:
    """Per-operator roofline of one decode MoE layer on one GPU of an EP deployment
    (``ridgeline roofline``): FLOPs, HBM bytes, intensity, time and whether each operator is compute-
    or memory-bound. The GPU runs data-parallel attention for ``batch`` sequences of ``context``
    tokens and holds 1/``ep`` of the experts. Returns {"operators": [...], "layer_time_s", ...}."""
    context_v = context if not isinstance(context, str) else parse_quantity(context, "count")
    batch_v = batch if not isinstance(batch, str) else parse_quantity(batch, "count")  # "1K" = 1024
    kw = {"model": model, "hardware": hardware, "batch": _float(batch_v, "batch"),
          "context": _float(context_v, "context"), "ep": _int(ep, "ep"), "weights": weights, "kv": kv}
    return _result("roofline", _call(_core.roofline, _db(db), kw))


def _roof_kwargs(hwdb, slo, gap, mtp_acceptance, weights, dispatch, combine, expert_tp, shared_on,
                 redundant_experts, gpu_granular, latency, usable_hbm) -> dict:
    return _drop_none({
        "hwdb": _path(hwdb), "slo": _qty(slo, "slo"), "gap": _qty(gap, "gap"),
        "mtp_acceptance": _float(mtp_acceptance, "mtp_acceptance"), "weights": weights, "dispatch": dispatch,
        "combine": combine, "expert_tp": _int(expert_tp, "expert_tp"), "shared_on": shared_on,
        "redundant_experts": _int(redundant_experts, "redundant_experts"), "gpu_granular": bool(gpu_granular),
        "latency": bool(latency), "usable_hbm": _float(usable_hbm, "usable_hbm")})


def commroof(model: Ids, hardware: str, *, nf: Any = "1..64", hwdb: Any = None, slo: Quantity = "50 ms",
             gap: Quantity = "15 ms", mtp_acceptance: float = 1.7, weights: str = "fp8", dispatch: str = "fp8",
             combine: str = "bf16", expert_tp: int = 1, shared_on: str = "attention", redundant_experts: int = 0,
             gpu_granular: bool = False, latency: bool = False, usable_hbm: float = 1.0,
             db: Optional[Database] = None) -> Result:
    """The communication-level roofline of an AFD FFN side per FFN size N_F (``ridgeline commroof``,
    AFD paper §2.4-2.6): for each N_F in ``nf`` ("1..64", [1, 2, 4] or range(1, 65)) the regime
    (scale-up bound, stable, scale-out bound = the dead zone, max intensity), B_eff, tokens per rank,
    the HBM intensity, the HFU ceiling, OFU and whether the weights fit. ``model`` may list several.
    hwdb="examples/paper-afd-roofline/hardware" reproduces the paper's Table 5 inputs. Plot with
    ``ridgeline.plot.comm_roofline`` / ``hfu_panels``."""
    kw = _roof_kwargs(hwdb, slo, gap, mtp_acceptance, weights, dispatch, combine, expert_tp, shared_on,
                      redundant_experts, gpu_granular, latency, usable_hbm)
    kw.update(model=",".join(_ids(model, "model")), hardware=hardware, nf=_int_list_text(nf, "nf"))
    return _result("commroof", _call(_core.commroof, _db(db), kw))


def deadzone(model: str, *, target_hfu: float = 0.60, nf: Any = "1..64", hwdb: Any = None,
             slo: Quantity = "50 ms", gap: Quantity = "15 ms", mtp_acceptance: float = 1.7, weights: str = "fp8",
             dispatch: str = "fp8", combine: str = "bf16", expert_tp: int = 1, shared_on: str = "attention",
             redundant_experts: int = 0, gpu_granular: bool = False, latency: bool = False,
             usable_hbm: float = 1.0, db: Optional[Database] = None) -> Result:
    """For every accelerator of the hardware database (``ridgeline deadzone``): the AFD dead-zone HFU
    floor, the peak AFD ceiling over ``nf`` and the per-GPU scale-out bandwidth needed to match large
    EP's HFU (``target_hfu``) inside the dead zone. Returns {"rows": [...], "budget_slot_s", ...}."""
    kw = _roof_kwargs(hwdb, slo, gap, mtp_acceptance, weights, dispatch, combine, expert_tp, shared_on,
                      redundant_experts, gpu_granular, latency, usable_hbm)
    kw.update(model=model, nf=_int_list_text(nf, "nf"), target_hfu=_float(target_hfu, "target_hfu"))
    return _result("deadzone", _call(_core.deadzone, _db(db), kw))


def imbalance(model: Optional[str] = None, *, ranks: Any = "8,32,64,256", tokens: Any = "16,128,1024",
              zipf: Optional[float] = None, histogram: Any = None, redundant_experts: int = 0,
              lambda_ep: float = 4.0, alpha: bool = False, sigma: Any = "0.7,0.75,0.8,0.85", nf: Any = "2,4,6",
              lambda_max: float = 5.0, db: Optional[Database] = None) -> Result:
    """Expert-load imbalance from routing statistics (``ridgeline imbalance``): for each EP rank count
    and tokens per rank, the mean and expected max token-expert pairs per rank, max/mean, sigma and
    alpha_EP at ``lambda_ep`` (the CLI's --lambda). Routing: uniform top-k, ``zipf`` S, or a
    ``histogram`` file; ``redundant_experts`` places EPLB replicas.

    With alpha=True: the AFD paper's Fig. 6 instead, alpha vs lambda for EP and AFD at each ``sigma``
    and N_F in ``nf`` up to ``lambda_max`` (the CLI's ``imbalance --alpha``; key "alpha")."""
    if alpha:
        kw = {"sigma": _number_list_text(sigma, "sigma"), "nf": _int_list_text(nf, "nf"),
              "lambda_max": _float(lambda_max, "lambda_max")}
        return _result("alpha", _call(_core.alpha, kw))
    kw = _drop_none({"model": model, "ranks": _int_list_text(ranks, "ranks"),
                     "tokens": _int_list_text(tokens, "tokens"), "zipf": _float(zipf, "zipf"),
                     "histogram": _path(histogram), "redundant_experts": _int(redundant_experts, "redundant_experts"),
                     "lambda_ep": _float(lambda_ep, "lambda_ep")})
    if model is None:
        kw["model"] = ""
    return _result("imbalance", _call(_core.imbalance, _db(db), kw))


def validation_dir() -> str:
    """The validation points shipped with the package (or the source tree's examples/validation)."""
    packaged = _data_dir() / "validation"
    if packaged.is_dir():
        return str(packaged)
    return str(_Path(__file__).resolve().parents[2] / "examples" / "validation")


def validate(dir: Any = None, *, calibration: Any = None, calibration_for: Optional[str] = None,
             calibration_any_device: bool = False, db: Optional[Database] = None) -> Result:
    """Compare predictions with published measurements (``ridgeline validate DIR``): for each point in
    ``dir`` (default: the shipped examples/validation) the measured and predicted decode tokens/s per
    GPU, the signed error (predicted - measured) / measured (> 0 = optimistic), the binding roof and
    the full evaluation; then "summary" (median and max |error|, bias, share optimistic). Every point
    runs with the same efficiencies: defaults, or ``calibration`` (a file, load_calibration() or a
    bare hardware id; refused on other hardware unless calibration_for / calibration_any_device).
    "phase" says which kind of folder it was: "decode" (points with a "serving": {"mode":
    "aggregated"} block are predicted with the co-located step and carry "aggregated") or
    "prefill" (e.g. examples/validation/prefill: measured and predicted prompt tokens/s per GPU).
    Plot with ``ridgeline.plot.predicted_vs_measured``."""
    kw = _drop_none({"dir": _path(dir) if dir is not None else validation_dir(),
                     "calibration": _calibration(calibration), "calibration_for": calibration_for,
                     "calibration_any_device": bool(calibration_any_device) or None})
    return _result("validate", _call(_core.validate, _db(db), kw))
