# SPDX-License-Identifier: Apache-2.0
"""Turn aiconfigurator-core's measured kernel tables into Ridgeline raw calibration samples.

aiconfigurator-core (https://pypi.org/project/aiconfigurator-core/, Apache-2.0) ships kernel
timings measured on real GPUs as parquet tables under
``aiconfigurator_core/systems/data/<system>/<op>/<stack>/<version>/*.parquet``. This module reads
the decode-relevant rows of four of them and writes small CSV files that ``ridgeline
profile-check`` fits and checks (the fit itself is C++ only, so there is one fit code):

  gemm.csv       FP8 (per-tensor) GEMMs, m = 1..512 rows, DeepSeek-V3 weight shapes
  mla_decode.csv MLA generation (absorbed; 128, 64, 32, 16 heads per GPU), FP8 KV cache,
                 32..512 sequences per GPU, 1K..32K context
  moe.csv        fp8_block routed experts of a DeepSeek-V3 MoE layer (7168 x 2048, 256 experts,
                 top-8, balanced routing), EP 8..64, 1..1024 tokens per GPU
  deepep_ll.csv  DeepEP low-latency dispatch/combine, one node, DeepSeek-V3 shape, 1..1024 tokens
  sources.json   which table, serving stack, version and device each file came from

Usage (pandas and pyarrow needed; pip download aiconfigurator-core and unzip the wheel)::

    python tools/calibration_import.py WHEEL_DIR/aiconfigurator_core/systems/data \\
        --system h200_sxm -o hwdb/calibration/raw/h200

Only numbers are copied (the measured timings of the selected rows), never code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# aiconfigurator system name -> Ridgeline hwdb id
SYSTEMS = {"h100_sxm": "h100-sxm", "h200_sxm": "h200", "b200_sxm": "b200", "gb200": "gb200"}

# GPUs per node (hwdb gpus_per_node): EP size of a node_num 1 DeepEP row (assumed).
GPUS_PER_NODE = {"h100_sxm": 8, "h200_sxm": 8, "b200_sxm": 8, "gb200": 4}

# GEMM weight shapes (n, k): every pair of the DeepSeek-V3 decode dimensions the tables hold
# (hidden 7168, q_lora 1536, expert/shared intermediate 2048 and 4096 (gate+up), o_proj input 16384).
GEMM_DIMS = [1536, 2048, 4096, 7168, 16384]
GEMM_SHAPES = [(n, k) for n in GEMM_DIMS for k in GEMM_DIMS]
GEMM_M = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]  # 1024-4096: compute-bound rows
MLA_HEADS = [128, 64, 32, 16]  # heads per GPU: DeepSeek-V3's 128 over TP 1, 2, 4, 8
MLA_BATCH = [32, 64, 128, 256, 512]
MLA_MIN_CONTEXT, MLA_MAX_CONTEXT = 1000, 33000
MOE_TOKENS_MAX = 1024
MOE_EP = [8, 16, 32, 64]

DTYPE_BYTES = {"fp8": 1, "fp8_block": 1, "bfloat16": 2, "float16": 2, "nvfp4": 0.5625}


def _newest(folder: Path, table: str, prefer: str | None = None) -> Path:
    """The table in the newest version folder under `folder` (or `prefer`, when it has it)."""
    if prefer and (folder / prefer / table).is_file():
        return folder / prefer / table
    found = sorted(folder.glob(f"*/{table}"), key=lambda p: [int(x) if x.isdigit() else x for x in
                                                               p.parent.name.replace("rc", ".").split(".")])
    if not found:
        raise FileNotFoundError(f"{folder}: no */{table}. Fix: pass the aiconfigurator_core/systems/data folder")
    return found[-1]


def _meta(path: Path, d) -> dict:
    return {
        "table": f"{path.parent.parent.parent.name}/{path.parent.parent.name}/{path.parent.name}/{path.name}",
        "serving_stack": str(d["framework"].iloc[0]),
        "version": str(d["version"].iloc[0]),
        "device": str(d["device"].iloc[0]),
        "kernel_source": sorted(str(x) for x in d["kernel_source"].unique()),
        "rows": int(len(d)),
    }


def import_system(data_dir: Path, system: str, out: Path) -> dict:
    import pandas as pd  # only the importer needs pandas/pyarrow; the tests read the CSVs

    root = Path(data_dir) / system
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder. Fix: --system one of {', '.join(sorted(SYSTEMS))}")
    out.mkdir(parents=True, exist_ok=True)
    sources: dict = {"origin": "aiconfigurator-core 0.12 (PyPI, Apache-2.0), systems/data/" + system,
                     "system": system, "hardware_id": SYSTEMS.get(system, system), "files": {}}

    # GEMM (TensorRT-LLM, per-tensor FP8).
    p = _newest(root / "gemm" / "trtllm", "gemm_perf.parquet", "1.3.0rc20")
    d = pd.read_parquet(p)
    keep = d[(d.gemm_dtype == "fp8") & d.m.isin(GEMM_M)]
    keep = keep[[tuple(x) in GEMM_SHAPES for x in keep[["n", "k"]].itertuples(index=False)]]
    keep = keep.sort_values(["n", "k", "m"])
    rows = [(1, int(r.m), int(r.n), int(r.k), 1, 1, float(r.latency) * 1e-3) for r in keep.itertuples()]
    _write(out / "gemm.csv", "groups,m,n,k,weight_bytes,activation_bytes,time_s", rows)
    sources["files"]["gemm.csv"] = _meta(p, keep) | {
        "selection": f"gemm_dtype fp8, m in {GEMM_M}, n and k in {GEMM_DIMS}"}

    # MLA generation (TensorRT-LLM), FP8 KV cache. Context of a row = isl + step.
    p = _newest(root / "mla" / "trtllm", "generation_mla_perf.parquet", "1.3.0rc20")
    d = pd.read_parquet(p)
    d = d.assign(context=d.isl + d.step)
    keep = d[(d.kv_cache_dtype == "fp8") & d.num_heads.isin(MLA_HEADS) &
             d.batch_size.isin(MLA_BATCH) & (d.context >= MLA_MIN_CONTEXT) & (d.context <= MLA_MAX_CONTEXT)]
    keep = keep.drop_duplicates(["num_heads", "batch_size", "context"]).sort_values(
        ["num_heads", "batch_size", "context"], ascending=[False, True, True])
    rows = [(int(r.batch_size), int(r.num_heads), int(r.context), 1, float(r.latency) * 1e-3)
            for r in keep.itertuples()]
    _write(out / "mla_decode.csv", "sequences,heads_per_gpu,context_tokens,kv_bytes,time_s", rows)
    sources["files"]["mla_decode.csv"] = _meta(p, keep) | {
        "selection": f"kv_cache_dtype fp8, num_heads (per GPU) in {MLA_HEADS}, batch in {MLA_BATCH}, "
                     f"context = isl + step in [{MLA_MIN_CONTEXT}, {MLA_MAX_CONTEXT}]"}

    # MoE experts (TensorRT-LLM), fp8_block, DeepSeek-V3 shape, balanced routing.
    p = _newest(root / "moe" / "trtllm", "moe_perf.parquet", "1.3.0rc20")
    d = pd.read_parquet(p)
    keep = d[(d.moe_dtype == "fp8_block") & (d.hidden_size == 7168) & (d.inter_size == 2048) & (d.topk == 8) &
             (d.num_experts == 256) & (d.distribution == "balanced") & (d.moe_tp_size == 1) &
             d.moe_ep_size.isin(MOE_EP) & (d.num_tokens <= MOE_TOKENS_MAX)]
    if keep.kernel_source.nunique() > 1:  # one kernel per system: the first by name
        keep = keep[keep.kernel_source == sorted(keep.kernel_source.unique())[0]]
    keep = keep.sort_values(["moe_ep_size", "num_tokens"])
    rows = [(int(r.num_tokens), int(r.hidden_size), int(r.inter_size), int(r.topk), int(r.num_experts),
             int(r.moe_ep_size), 1, float(r.latency) * 1e-3) for r in keep.itertuples()]
    _write(out / "moe.csv", "tokens,hidden,intermediate,top_k,experts,ep,weight_bytes,time_s", rows)
    sources["files"]["moe.csv"] = _meta(p, keep) | {
        "selection": f"fp8_block, hidden 7168, inter 2048, top-8 of 256, balanced, moe_tp 1, ep in {MOE_EP}, "
                     f"num_tokens <= {MOE_TOKENS_MAX}"}

    # DeepEP low-latency (SGLang wide-EP collector), one node.
    p = _newest(root / "comm" / "sglang", "wideep_deepep_ll_perf.parquet", "0.5.12")
    d = pd.read_parquet(p)
    keep = d[(d.hidden_size == 7168) & (d.num_topk == 8) & (d.num_experts == 256) & (d.node_num == 1)]
    keep = keep.sort_values(["num_token"])
    gpus = GPUS_PER_NODE.get(system, 8)
    rows = [(int(r.num_token), int(r.hidden_size), int(r.num_topk), int(r.num_experts), gpus * int(r.node_num),
             float(r.dispatch_avg_t_us) * 1e-6, float(r.combine_avg_t_us) * 1e-6) for r in keep.itertuples()]
    _write(out / "deepep_ll.csv", "tokens,hidden,top_k,experts,gpus,dispatch_s,combine_s", rows)
    sources["files"]["deepep_ll.csv"] = _meta(p, keep) | {
        "selection": f"hidden 7168, top-8 of 256 experts, node_num 1; gpus = {gpus} (GPUs of one node, "
                     "assumed: the table does not record the EP size)"}

    (out / "sources.json").write_text(json.dumps(sources, indent=2) + "\n")
    return sources


def _write(path: Path, header: str, rows) -> None:
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in r) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tools/calibration_import.py", description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path, help="aiconfigurator_core/systems/data of an unpacked wheel")
    ap.add_argument("--system", required=True, help="aiconfigurator system: " + ", ".join(sorted(SYSTEMS)))
    ap.add_argument("-o", "--out", type=Path, required=True, help="output folder (hwdb/calibration/raw/<hw>)")
    a = ap.parse_args(argv)
    try:
        s = import_system(a.data_dir, a.system, a.out)
    except (FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, f in s["files"].items():
        print(f"{a.out / name}: {f['rows']} rows from {f['table']} ({f['serving_stack']} {f['version']}, {f['device']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
