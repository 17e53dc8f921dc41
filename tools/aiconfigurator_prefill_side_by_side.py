#!/usr/bin/env python3
"""Ridgeline and NVIDIA aiconfigurator on the published prefill points, next to the measurement.

For every prefill validation point whose hardware aiconfigurator has (H100 SXM, H200, B200, GB200),
runs `aiconfigurator cli estimate --estimate-mode static_ctx` on the same shape: DeepSeek-V3,
SGLang backend, TP 1, attention DP = EP = the point's GPUs (or TP = GPUs for a TP point), the
point's input length, and as many prompts per attention rank as fill the point's tokens per rank
(chunk_tokens / input_tokens). Its input tokens/s per GPU is those tokens over its TTFT (one pass,
no two-batch overlap: static_ctx prices a single forward pass). Ridgeline's prediction is
`ridgeline validate DIR --json` with defaults.

Usage: tools/aiconfigurator_prefill_side_by_side.py --ridgeline build/ridgeline
       [--aiconfigurator PATH] [--points examples/validation/prefill] [--out FILE]
Needs `pip install aiconfigurator==0.12.0` (the version docs/aiconfigurator-side-by-side.md used).
"""
import argparse
import json
import re
import subprocess
import sys

# Ridgeline hwdb id -> aiconfigurator system name.
SYSTEMS = {"h100-sxm": "h100_sxm", "h200": "h200_sxm", "b200": "b200_sxm", "gb200": "gb200"}


def aic_tokens_per_s_per_gpu(aic, system, point):
    """aiconfigurator's prefill rate for one point, and the SGLang table version it used."""
    isl = int(point["input_tokens"])
    prompts = max(1, round(point["chunk_tokens"] / isl))
    gpus = point["gpus"]
    if point["parallel"] == "ep":
        shape = ["--tp-size", "1", "--attention-dp-size", str(gpus), "--moe-ep-size", str(gpus), "--moe-tp-size", "1"]
    else:
        shape = ["--tp-size", str(gpus), "--attention-dp-size", "1", "--moe-ep-size", "1", "--moe-tp-size", str(gpus)]
    cmd = [aic, "cli", "estimate", "--model", "deepseek-ai/DeepSeek-V3", "--system", system, "--backend", "sglang",
           "--estimate-mode", "static_ctx", "--isl", str(isl), "--osl", "2", "--batch-size", str(prompts)] + shape
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    text = out.stdout + out.stderr
    ttft = re.search(r"TTFT:\s+([\d.,]+) ms", text)
    version = re.search(r"Backend:\s+sglang \(([^)]+)\)", text)
    if not ttft:
        return None, text[-400:]
    ttft_s = float(ttft.group(1).replace(",", "")) / 1e3
    tokens_per_rank = prompts * isl if point["parallel"] == "ep" else prompts * isl / gpus
    return tokens_per_rank / ttft_s, version.group(1) if version else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ridgeline", required=True)
    ap.add_argument("--aiconfigurator", default="aiconfigurator")
    ap.add_argument("--points", default="examples/validation/prefill")
    ap.add_argument("--out", help="also write the rows as JSON here")
    a = ap.parse_args()
    v = subprocess.run([a.ridgeline, "validate", a.points, "--json"], capture_output=True, text=True, check=True)
    rows = []
    for p in json.loads(v.stdout)["points"]:
        system = SYSTEMS.get(p["hardware"])
        if p.get("model", "deepseek-v3") != "deepseek-v3" or not system:
            print(f"skipped {p['point']}: aiconfigurator has no {p['hardware']} system", file=sys.stderr)
            continue
        theirs, version = aic_tokens_per_s_per_gpu(a.aiconfigurator, system, p)
        if theirs is None:
            print(f"skipped {p['point']}: aiconfigurator gave no TTFT: {version}", file=sys.stderr)
            continue
        measured = p["measured_input_tokens_per_s_per_gpu"]
        rows.append({"point": p["point"], "hardware": p["hardware"], "measured": measured,
                     "ridgeline": p["predicted_input_tokens_per_s_per_gpu"], "aiconfigurator": theirs,
                     "aiconfigurator_sglang_tables": version})
    print("| point | measured tok/s/GPU | Ridgeline | signed error | aiconfigurator (static_ctx) | signed error |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        e_ours = (r["ridgeline"] - r["measured"]) / r["measured"]
        e_aic = (r["aiconfigurator"] - r["measured"]) / r["measured"]
        print(f"| {r['point']} | {r['measured']:,.0f} | {r['ridgeline']:,.0f} | {100 * e_ours:+.1f} % | "
              f"{r['aiconfigurator']:,.0f} | {100 * e_aic:+.1f} % |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
