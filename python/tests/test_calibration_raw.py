# SPDX-License-Identifier: Apache-2.0
"""The committed raw calibration samples stay small and say where every file came from."""
import csv
import json
from pathlib import Path

import pytest

RAW = Path(__file__).resolve().parents[2] / "hwdb" / "calibration" / "raw"
HEADERS = {
    "gemm.csv": "groups,m,n,k,weight_bytes,activation_bytes,time_s",
    "mla_decode.csv": "sequences,heads_per_gpu,context_tokens,kv_bytes,time_s",
    "moe.csv": "tokens,hidden,intermediate,top_k,experts,ep,weight_bytes,time_s",
    "deepep_ll.csv": "tokens,hidden,top_k,experts,gpus,dispatch_s,combine_s",
    "attention_peaks.csv": "bound,achieved_per_s",
}


def test_raw_samples_are_small():
    total = sum(f.stat().st_size for f in RAW.rglob("*") if f.is_file())
    assert total < 400_000, f"raw samples are {total} bytes: select fewer rows"


@pytest.mark.parametrize("hw", ["h100-sxm", "h200", "b200", "gb200", "h800"])
def test_every_raw_file_has_a_source_and_positive_times(hw):
    d = RAW / hw
    sources = json.loads((d / "sources.json").read_text())
    assert sources["hardware_id"] == hw
    csvs = sorted(p.name for p in d.glob("*.csv"))
    assert csvs, hw
    for name in csvs:
        meta = sources["files"][name]
        for key in ("table", "serving_stack", "version", "device", "selection"):
            assert meta[key], (hw, name, key)
        rows = list(csv.reader((d / name).open()))
        assert ",".join(rows[0]) == HEADERS[name]
        assert len(rows) - 1 == meta["rows"], (hw, name)
        for r in rows[1:]:
            nums = [float(x) for x in (r[1:] if name == "attention_peaks.csv" else r)]
            assert all(x > 0 for x in nums), (hw, name, r)
