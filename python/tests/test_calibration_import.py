# SPDX-License-Identifier: Apache-2.0
"""tools/calibration_import.py on a tiny synthetic aiconfigurator-core data folder: which rows it
keeps, how it orders and converts them, and what sources.json records.

The tables are built with pandas in the column layout the importer reads. They are written as
parquet when pyarrow (or fastparquet) is installed; otherwise as pickles, with the importer's
pd.read_parquet pointed at pd.read_pickle, so the selection logic is still checked (the
parquet round trip itself is then not)."""
import csv
import importlib.util
import json
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas", reason="tools/calibration_import.py needs pandas (not installed in this venv)")

ROOT = Path(__file__).resolve().parents[2]


def _load_tool():
    spec = importlib.util.spec_from_file_location("calibration_import", ROOT / "tools" / "calibration_import.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _parquet_engine():
    for name in ("pyarrow", "fastparquet"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


META = {"framework": "TRTLLM", "version": "1.3.0rc20", "device": "NVIDIA GB200"}


def _gemm():
    rows = []
    # kept: fp8, m in the list, (n, k) a DeepSeek-V3 pair; given out of order to check the sort
    rows.append(dict(gemm_dtype="fp8", m=16, n=7168, k=2048, latency=0.020))
    rows.append(dict(gemm_dtype="fp8", m=1, n=7168, k=2048, latency=0.010))
    rows.append(dict(gemm_dtype="fp8", m=4096, n=1536, k=7168, latency=0.250))
    # dropped: other dtype, m not in the list, n not a DeepSeek-V3 dimension
    rows.append(dict(gemm_dtype="fp8_block", m=1, n=7168, k=2048, latency=0.011))
    rows.append(dict(gemm_dtype="fp8", m=3, n=7168, k=2048, latency=0.012))
    rows.append(dict(gemm_dtype="fp8", m=1, n=5000, k=2048, latency=0.013))
    return pd.DataFrame([r | META | {"kernel_source": "torch_flow"} for r in rows])


def _mla():
    rows = []
    # kept (context = isl + step in [1000, 33000]); the duplicate of (64, 32, 2048) keeps its first row
    rows.append(dict(kv_cache_dtype="fp8", num_heads=32, batch_size=64, isl=2047, step=1, latency=0.05))
    rows.append(dict(kv_cache_dtype="fp8", num_heads=32, batch_size=64, isl=2047, step=1, latency=0.99))
    rows.append(dict(kv_cache_dtype="fp8", num_heads=128, batch_size=512, isl=32767, step=1, latency=1.6))
    rows.append(dict(kv_cache_dtype="fp8", num_heads=128, batch_size=32, isl=1023, step=1, latency=0.021))
    # dropped: bf16 KV, 8 heads, batch 16, context 999 and 33001
    rows.append(dict(kv_cache_dtype="bfloat16", num_heads=128, batch_size=32, isl=1023, step=1, latency=0.03))
    rows.append(dict(kv_cache_dtype="fp8", num_heads=8, batch_size=32, isl=1023, step=1, latency=0.03))
    rows.append(dict(kv_cache_dtype="fp8", num_heads=128, batch_size=16, isl=1023, step=1, latency=0.03))
    rows.append(dict(kv_cache_dtype="fp8", num_heads=128, batch_size=32, isl=998, step=1, latency=0.03))
    rows.append(dict(kv_cache_dtype="fp8", num_heads=128, batch_size=32, isl=33000, step=1, latency=0.03))
    return pd.DataFrame([r | META | {"kernel_source": "default"} for r in rows])


def _moe():
    base = dict(moe_dtype="fp8_block", hidden_size=7168, inter_size=2048, topk=8, num_experts=256,
                distribution="balanced", moe_tp_size=1)
    rows = [
        base | dict(moe_ep_size=16, num_tokens=8, latency=0.08, kernel_source="deepgemm"),
        base | dict(moe_ep_size=8, num_tokens=128, latency=0.12, kernel_source="deepgemm"),
        # another kernel for the same shape: only the first kernel by name ("deepgemm") is kept
        base | dict(moe_ep_size=8, num_tokens=128, latency=0.5, kernel_source="trtllm"),
        # dropped: imbalanced routing, EP 4, more than 1024 tokens, moe_tp 2
        base | dict(moe_ep_size=8, num_tokens=16, latency=0.2, kernel_source="deepgemm", distribution="power_law"),
        base | dict(moe_ep_size=4, num_tokens=16, latency=0.2, kernel_source="deepgemm"),
        base | dict(moe_ep_size=8, num_tokens=2048, latency=0.2, kernel_source="deepgemm"),
        base | dict(moe_ep_size=8, num_tokens=16, latency=0.2, kernel_source="deepgemm", moe_tp_size=2),
    ]
    return pd.DataFrame([r | META for r in rows])


def _deepep():
    base = dict(hidden_size=7168, num_topk=8, num_experts=256, framework="sglang", version="0.5.12",
                device="NVIDIA GB200", kernel_source="deepep")
    rows = [
        base | dict(num_token=128, node_num=1, dispatch_avg_t_us=40.0, combine_avg_t_us=60.0),
        base | dict(num_token=1, node_num=1, dispatch_avg_t_us=20.0, combine_avg_t_us=25.0),
        base | dict(num_token=1, node_num=2, dispatch_avg_t_us=90.0, combine_avg_t_us=95.0),  # two nodes: dropped
        base | dict(num_token=1, node_num=1, dispatch_avg_t_us=9.0, combine_avg_t_us=9.0, hidden_size=4096),
    ]
    return pd.DataFrame(rows)


TABLES = {
    ("gemm", "trtllm", "1.3.0rc20", "gemm_perf.parquet"): _gemm,
    ("mla", "trtllm", "1.3.0rc20", "generation_mla_perf.parquet"): _mla,
    ("moe", "trtllm", "1.3.0rc20", "moe_perf.parquet"): _moe,
    ("comm", "sglang", "0.5.12", "wideep_deepep_ll_perf.parquet"): _deepep,
}


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    engine = _parquet_engine()
    if engine is None:
        monkeypatch.setattr(pd, "read_parquet", pd.read_pickle)
    for (op, stack, version, name), make in TABLES.items():
        p = tmp_path / "data" / "gb200" / op / stack / version / name
        p.parent.mkdir(parents=True)
        df = make()
        if engine:
            df.to_parquet(p, engine=engine)
        else:
            df.to_pickle(p)
    return tmp_path / "data"


def _rows(path):
    with open(path) as f:
        return list(csv.reader(f))


def test_import_selects_orders_and_converts_rows(data_dir, tmp_path):
    tool = _load_tool()
    out = tmp_path / "raw"
    assert tool.main([str(data_dir), "--system", "gb200", "-o", str(out)]) == 0

    # GEMM: sorted by (n, k, m); latency ms -> s
    assert _rows(out / "gemm.csv") == [
        ["groups", "m", "n", "k", "weight_bytes", "activation_bytes", "time_s"],
        ["1", "4096", "1536", "7168", "1", "1", "0.00025"],
        ["1", "1", "7168", "2048", "1", "1", "1e-05"],
        ["1", "16", "7168", "2048", "1", "1", "2e-05"],
    ]
    # MLA: heads descending, then batch and context ascending; context = isl + step; first duplicate
    assert _rows(out / "mla_decode.csv") == [
        ["sequences", "heads_per_gpu", "context_tokens", "kv_bytes", "time_s"],
        ["32", "128", "1024", "1", "2.1e-05"],
        ["512", "128", "32768", "1", "0.0016"],
        ["64", "32", "2048", "1", "5e-05"],
    ]
    # MoE: one kernel, sorted by (ep, tokens)
    assert _rows(out / "moe.csv") == [
        ["tokens", "hidden", "intermediate", "top_k", "experts", "ep", "weight_bytes", "time_s"],
        ["128", "7168", "2048", "8", "256", "8", "1", "0.00012"],
        ["8", "7168", "2048", "8", "256", "16", "1", "8e-05"],
    ]
    # DeepEP: one node of GB200 = 4 GPUs; microseconds -> s
    assert _rows(out / "deepep_ll.csv") == [
        ["tokens", "hidden", "top_k", "experts", "gpus", "dispatch_s", "combine_s"],
        ["1", "7168", "8", "256", "4", "2e-05", "2.5e-05"],
        ["128", "7168", "8", "256", "4", "4e-05", "6e-05"],
    ]

    src = json.loads((out / "sources.json").read_text())
    assert src["system"] == "gb200" and src["hardware_id"] == "gb200"
    files = src["files"]
    assert files["gemm.csv"]["table"] == "gemm/trtllm/1.3.0rc20/gemm_perf.parquet"
    assert files["mla_decode.csv"]["device"] == "NVIDIA GB200"
    assert files["moe.csv"]["kernel_source"] == ["deepgemm"]
    assert files["deepep_ll.csv"]["serving_stack"] == "sglang"
    for name in ("gemm.csv", "mla_decode.csv", "moe.csv", "deepep_ll.csv"):
        assert files[name]["rows"] == len(_rows(out / name)) - 1, name


def test_import_prefers_the_pinned_version_folder(data_dir, tmp_path):
    # A newer GEMM table beside the pinned 1.3.0rc20 one is ignored.
    newer = data_dir / "gb200" / "gemm" / "trtllm" / "1.4.0" / "gemm_perf.parquet"
    newer.parent.mkdir(parents=True)
    pinned = data_dir / "gb200" / "gemm" / "trtllm" / "1.3.0rc20" / "gemm_perf.parquet"
    newer.write_bytes(pinned.read_bytes())
    out = tmp_path / "raw"
    assert _load_tool().main([str(data_dir), "--system", "gb200", "-o", str(out)]) == 0
    assert json.loads((out / "sources.json").read_text())["files"]["gemm.csv"]["table"].startswith(
        "gemm/trtllm/1.3.0rc20/")


def test_import_of_an_unknown_system_fails_with_a_fix(data_dir, tmp_path, capsys):
    assert _load_tool().main([str(data_dir), "--system", "h100_sxm", "-o", str(tmp_path / "raw")]) == 1
    err = capsys.readouterr().err
    assert "not a folder" in err and "Fix:" in err
