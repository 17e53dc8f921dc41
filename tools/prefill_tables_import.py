#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Select the prefill rows of aiconfigurator-core's measured kernel tables into small CSVs.

The unit test `prefill: operators against measured SGLang prefill kernel tables` prices every row
with Ridgeline's prefill operators. Only timings are copied, no code.

    pip download --no-deps aiconfigurator-core==0.12.0 && unzip -q aiconfigurator_core-*.whl -d /tmp/aic
    python tools/prefill_tables_import.py /tmp/aic/aiconfigurator_core/systems/data \
        --system h100_sxm -o tests/data/prefill-kernels/h100-sxm

Needs pandas and pyarrow.
"""
import argparse
import json
import pathlib

import pandas as pd

VERSION = "0.5.6.post2"  # SGLang version of the wide-EP tables


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=pathlib.Path, help="aiconfigurator_core/systems/data")
    ap.add_argument("--system", required=True, help="e.g. h100_sxm")
    ap.add_argument("-o", "--out", type=pathlib.Path, required=True)
    a = ap.parse_args()
    root = a.data / a.system
    a.out.mkdir(parents=True, exist_ok=True)
    sources = {"origin": f"aiconfigurator-core 0.12 (PyPI, Apache-2.0), systems/data/{a.system}", "files": {}}

    def note(name, table, df, selection):
        sources["files"][name] = {"table": table, "device": str(df["device"].iloc[0]), "rows": len(df),
                                  "selection": selection}

    # Wide-EP MoE module (DeepEP-MoE: permute, DeepGEMM contiguous grouped GEMMs, SwiGLU + quant,
    # gather). num_tokens is the EP group's total; the measured GPU computes its share.
    t = f"moe/sglang/{VERSION}/wideep_context_moe_perf.parquet"
    d = pd.read_parquet(root / t)
    d = d[(d.distribution == "uniform") & (d.num_tokens / d.moe_ep_size >= 1024) & (d.num_tokens >= 32768)]
    d = d.sort_values(["moe_ep_size", "num_tokens"])
    out = pd.DataFrame({"ep": d.moe_ep_size, "global_tokens": d.num_tokens, "time_s": d.latency * 1e-3})
    out.to_csv(a.out / "moe_context.csv", index=False)
    note("moe_context.csv", t, d, "fp8_block, DeepSeek-V3 experts, uniform routing, >= 1024 tokens per GPU")

    # Wide-EP MLA context module (q_b, kv_b, attention core, o_proj; q_a/kv_a run outside it).
    t = f"mla/sglang/{VERSION}/wideep_context_mla_perf.parquet"
    d = pd.read_parquet(root / t)
    d = d[(d.num_heads == 128) & (d.kernel_source == "fa3") & (d.isl >= 512)]
    d = d[(d.batch_size * d.isl >= 4096) & (d.batch_size * d.isl <= 16384)].sort_values(["isl", "batch_size"])
    out = pd.DataFrame({"sequences": d.batch_size, "isl": d.isl, "time_s": d.latency * 1e-3})
    out.to_csv(a.out / "mla_context.csv", index=False)
    note("mla_context.csv", t, d, "128 heads (TP 1), FA3, fp8_block GEMMs, 4,096-16,384 new tokens, isl >= 512")

    # DeepEP normal kernels (prefill), 24 SMs, >= 1,024 tokens per GPU.
    t = f"comm/sglang/{VERSION}/wideep_deepep_normal_perf.parquet"
    d = pd.read_parquet(root / t)
    d = d[(d.dispatch_sms == 24) & (d.num_token >= 1024) & (d.num_token <= 16384)].sort_values(["node_num", "num_token"])
    out = pd.DataFrame({"nodes": d.node_num, "tokens": d.num_token,
                        "dispatch_s": (d.dispatch_transmit_us + d.dispatch_notify_us) * 1e-6,
                        "combine_s": (d.combine_transmit_us + d.combine_notify_us) * 1e-6})
    out.to_csv(a.out / "deepep_normal.csv", index=False)
    note("deepep_normal.csv", t, d, "hidden 7168, top-8 of 256, 24 SMs, 1,024-16,384 tokens per GPU")
    (a.out / "sources.json").write_text(json.dumps(sources, indent=2) + "\n")


if __name__ == "__main__":
    main()
