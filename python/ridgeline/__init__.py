"""Ridgeline: plan MoE decode deployments (large EP vs attention-FFN disaggregation).

>>> import ridgeline as rl
>>> db = rl.database()
>>> s = rl.scenario({"model": "deepseek-v3", "workload": {"context_tokens": 4096, "tpot_slo": "50 ms"},
...                  "deployment": {"strategy": "ep", "hardware": "h800", "gpus": 128,
...                                 "batch_per_gpu": 128, "micro_batches": 2}}, db)
>>> rl.evaluate(s)["tokens_per_s_per_gpu"]  # doctest: +SKIP

All quantities are SI base units (seconds, bytes, FLOP/s, bytes/s).
"""
from __future__ import annotations

import json as _json

from ._core import (  # noqa: F401
    Accelerator,
    ConfigError,
    Database,
    Dimension,
    Error,
    Link,
    MissingDataError,
    ModelSpec,
    UnknownIdError,
    Scenario,
    __version__,
    evaluate,
    load_scenario,
    parse_quantity,
    parse_scenario,
    plan,
)


def database() -> Database:
    """The hwdb/ and models/ shipped inside the installed package (or the source tree)."""
    import os
    from pathlib import Path

    data = Path(__file__).resolve().parent / "data"
    if "RIDGELINE_DATA_DIR" not in os.environ and (data / "hwdb").is_dir():
        return Database.load(str(data / "hwdb"), str(data / "models"))
    return Database.default()


def scenario(obj: dict, db: Database, name: str = "<dict>") -> Scenario:
    """Build a Scenario from a dict with the scenario-file format (see README)."""
    return parse_scenario(_json.dumps(obj), name, db)


def frame(rows):
    """Flatten evaluation dicts (e.g. [evaluate(s) for s in ...]) into a pandas DataFrame."""
    import pandas as pd  # optional dependency

    return pd.json_normalize(list(rows))
