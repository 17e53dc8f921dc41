#!/usr/bin/env python3
"""Run NVIDIA aiconfigurator and Ridgeline on the same decode configurations and print a table.

Needs `pip install aiconfigurator` (0.12 was used for docs/aiconfigurator-side-by-side.md) and a
built `ridgeline` binary. aiconfigurator's `cli estimate --estimate-mode static_gen` prices one
decode step from kernel timings measured on real GPUs (SGLang backend); Ridgeline's `evaluate`
prices the same shape from its roofline with default efficiencies. Both sides get: DeepSeek-V3,
FP8 weights and KV cache, attention data-parallel + expert parallel over `gpus` GPUs, `batch`
sequences per GPU, ISL 4096 / OSL 1024 (mean decode context 4608), no MTP, no two-batch overlap.

Usage: tools/aiconfigurator_side_by_side.py --ridgeline build/ridgeline [--aiconfigurator PATH]
       [--points h200:64:16,b200:128:8] [--out DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# Ridgeline hwdb id -> aiconfigurator system name.
SYSTEMS = {"h100-sxm": "h100_sxm", "h200": "h200_sxm", "b200": "b200_sxm", "gb200": "gb200"}
DEFAULT_POINTS = "h200:16:8,h200:64:8,h200:128:8,h200:64:16,h200:64:32,h100-sxm:32:8,b200:64:8,b200:128:8"
ISL, OSL = 4096, 1024

# aiconfigurator op names (generation phase) grouped into Ridgeline's stages.
GROUPS = {
    "attention_core": ("generation_attention",),
    "mla_block": ("generation_mla_block",),  # aiconfigurator's non-wide-EP path: projections + core together
    "experts": ("generation_moe",),
    # The non-wide-EP path times experts and all-to-all together: compared with Ridgeline's
    # experts + dispatch + combine.
    "moe_with_all_to_all": ("generation_moe_overlap",),
    "dispatch": ("generation_moe_dispatch",),
    "combine": ("generation_moe_combine",),
    "lm_head": ("generation_logits_gemm",),
}


def run_aic(aic, system, batch, gpus):
    cmd = [aic, "cli", "estimate", "--estimate-mode", "static_gen", "--model", "deepseek-ai/DeepSeek-V3",
           "--system", system, "--backend", "sglang", "--bs", str(batch), "--tp", "1", "--dp", str(gpus),
           "--ep", str(gpus), "--isl", str(ISL), "--osl", str(OSL), "--detail", "time"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900).stdout
    tpot = re.search(r"TPOT:\s+([\d.,]+) ms", out)
    version = re.search(r"Backend:\s+sglang \(([^)]+)\)", out)
    mem = re.search(r"Memory \(GPU\):\s+([\d.]+) GB", out)
    ops = {}
    in_gen = False
    for line in out.splitlines():
        if line.startswith("Generation phase"):
            in_gen = True
            continue
        m = re.match(r"\s+(generation_\w+)\s+([\d.,]+) ms", line)
        if in_gen and m:
            ops[m.group(1)] = float(m.group(2).replace(",", "")) / (OSL - 1)  # per decode step
    if not tpot:
        raise RuntimeError(f"aiconfigurator gave no TPOT for {system} batch {batch} gpus {gpus}:\n{out[-2000:]}")
    return {"tpot_ms": float(tpot.group(1).replace(",", "")), "sglang": version.group(1) if version else "?",
            "memory_gb": float(mem.group(1)) if mem else None, "ops_ms": ops}


def run_ridgeline(rl, hw, batch, gpus, tmp):
    scenario = {
        "description": f"side-by-side with aiconfigurator: {gpus}-way DP attention + EP, batch {batch} per GPU",
        "model": "deepseek-v3",
        "precision": {"weights": "fp8", "kv_cache": "fp8", "dispatch": "fp8", "combine": "bf16"},
        # aiconfigurator's static_gen runs every sequence at one length: Ridgeline's KV-length spread
        # is that of a fixed-length benchmark in steady state, OSL / (sqrt(12) (ISL + OSL / 2)).
        "workload": {"context_tokens": ISL + OSL // 2, "tpot_slo": "1 s", "mtp_acceptance": 1.0,
                     "context_cv": round(OSL / (12 ** 0.5 * (ISL + OSL / 2)), 4)},
        "deployment": {"strategy": "ep", "hardware": hw, "gpus": gpus, "batch_per_gpu": batch, "micro_batches": 1},
    }
    path = os.path.join(tmp, f"{hw}_{batch}_{gpus}.json")
    with open(path, "w") as f:
        json.dump(scenario, f)
    d = json.loads(subprocess.run([rl, "evaluate", path, "--json"], capture_output=True, text=True, check=True).stdout)
    d = d[0] if isinstance(d, list) else d
    b = d["breakdown"]
    layers = b["moe_layers_ms"] / max(b["slot_ms"], 1e-12)  # MoE layers x micro-batches
    ops = {o["name"]: o["time_ms"] * layers for o in b["ops"]}
    return {"tpot_ms": d["tpot_ms"], "feasible": d["feasible"], "reason": d["reason"], "gap_ms": b["iteration_gap_ms"],
            "attention_core": ops.get("attn_core", 0), "experts": ops.get("experts_gate_up", 0) + ops.get("experts_down", 0),
            "dispatch": b["dispatch_ms"] * layers, "combine": b["combine_ms"] * layers, "lm_head": b["lm_head_ms"],
            "moe_with_all_to_all": ops.get("experts_gate_up", 0) + ops.get("experts_down", 0)
            + (b["dispatch_ms"] + b["combine_ms"]) * layers}


def signed(ours, theirs):
    return f"{100 * (ours - theirs) / theirs:+.0f} %" if theirs else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ridgeline", required=True)
    ap.add_argument("--aiconfigurator", default="aiconfigurator")
    ap.add_argument("--points", default=DEFAULT_POINTS, help="hw:batch_per_gpu:gpus, comma-separated")
    ap.add_argument("--out", help="also write the raw results as JSON here")
    ap.add_argument("--from-json", help="print the tables from a previous --out file (aiconfigurator not run again)")
    a = ap.parse_args()
    rows = []
    if a.from_json:
        with open(a.from_json) as f:
            rows = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        for p in [] if a.from_json else a.points.split(","):
            hw, batch, gpus = p.split(":")
            aic = run_aic(a.aiconfigurator, SYSTEMS[hw], int(batch), int(gpus))
            ours = run_ridgeline(a.ridgeline, hw, int(batch), int(gpus), tmp)
            rows.append({"hardware": hw, "batch_per_gpu": int(batch), "gpus": int(gpus), "aiconfigurator": aic, "ridgeline": ours})
            print(f"done {p}", file=sys.stderr)
    print("| hardware | GPUs | batch/GPU | aiconfigurator TPOT ms | Ridgeline TPOT ms (gap 5 ms) | Ridgeline − gap | signed diff (no gap) | notes |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        a_, o = r["aiconfigurator"], r["ridgeline"]
        note = "" if o["feasible"] else f"Ridgeline: infeasible ({o['reason']}); aiconfigurator reports {a_['memory_gb']} GB/GPU"
        if "generation_mla_block" in a_["ops_ms"]:
            note += (" aiconfigurator MLA block %.1f ms/step" % a_["ops_ms"]["generation_mla_block"])
        print(f"| {r['hardware']} | {r['gpus']} | {r['batch_per_gpu']} | {a_['tpot_ms']:.1f} | {o['tpot_ms']:.1f} | "
              f"{o['tpot_ms'] - o['gap_ms']:.1f} | {signed(o['tpot_ms'] - o['gap_ms'], a_['tpot_ms'])} | {note.strip()} |")
    print()
    print("| hardware | GPUs | batch/GPU | op | aiconfigurator ms/step | Ridgeline ms/step | signed diff |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        a_, o = r["aiconfigurator"], r["ridgeline"]
        for group, names in GROUPS.items():
            theirs = sum(a_["ops_ms"].get(n, 0) for n in names)
            if not theirs or group == "mla_block":
                continue
            print(f"| {r['hardware']} | {r['gpus']} | {r['batch_per_gpu']} | {group} | {theirs:.2f} | {o[group]:.2f} | {signed(o[group], theirs)} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
