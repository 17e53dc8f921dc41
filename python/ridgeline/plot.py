"""Charts of Ridgeline results (matplotlib, imported only when a function here is called).

Each function takes what a ridgeline function returned and returns a matplotlib Figure; every
series has its own colour, line style and marker, so the charts read in greyscale too.

- comm_roofline(commroof(...))          HFU ceiling vs N_F with the roofs and the dead zone shaded
- hfu_panels([commroof(...), ...])      the AFD paper's Fig. 4 layout: 2 x 4 panels, shared y
- crossover_heatmap(compare(...))       AFD / EP ratio per (context, SLO) cell
- pareto(plan(..., pareto=True))        tokens/s per GPU vs tokens/s per user, EP and AFD
- schedule(plan(...)["afd"])            one layer's ping-pong schedule as a Gantt chart
- alpha_penalties(imbalance(alpha=True)) alpha vs lambda (the paper's Fig. 6)
- predicted_vs_measured(validate())     predicted vs measured tokens/s per GPU
- sensitivity_tornado(plan(...))        AFD / EP at each end of every uncertain input's range
- sweep(sweep(...))                     best EP and best AFD score along one grid axis, per grid line
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

__all__ = ["comm_roofline", "hfu_panels", "crossover_heatmap", "pareto", "schedule", "alpha_penalties",
           "predicted_vs_measured", "sensitivity_tornado", "sweep", "style"]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22"]
_LINES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1))]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]


def style(i: int) -> dict:
    """The i-th series style: colour, line style and marker all differ between neighbours."""
    return {"color": _COLORS[i % len(_COLORS)], "linestyle": _LINES[i % len(_LINES)],
            "marker": _MARKERS[i % len(_MARKERS)]}


def _plt():
    import matplotlib.pyplot as plt  # lazy: `import ridgeline` must not need matplotlib

    return plt


def _roof_scale(model: dict) -> Optional[float]:
    """HFU per byte/s of effective bandwidth (I_net / FLOPS), from a point the network binds."""
    for p in model["points"]:
        if not p["compute_capped"] and p["hfu_ceiling"] > 0 and p["effective_bytes_per_s"] > 0:
            return p["hfu_ceiling"] / p["effective_bytes_per_s"]
    return None


def _commroof_axes(ax, result: dict, roofs: bool, legend: bool = True, first_style: int = 0) -> int:
    """Draws HFU ceiling vs N_F of every model in `result` on `ax`; returns the series drawn."""
    n = 0
    for i, m in enumerate(result["models"]):
        nf = [p["nf"] for p in m["points"]]
        ax.plot(nf, [p["hfu_ceiling"] for p in m["points"]], label=f"{m['model']} HFU ceiling",
                markersize=4, **style(first_style + i))
        n += 1
    m0 = result["models"][0]
    nf = [p["nf"] for p in m0["points"]]
    if roofs and len(result["models"]) == 1:
        k = _roof_scale(m0)
        lines = [("compute roof (100 %)", 1.0)]
        if k is not None:
            lines += [("scale-up roof", min(1.0, k * m0["scale_up_bytes_per_s"])),
                      ("scale-out roof", min(1.0, k * m0["scale_out_bytes_per_s"]))]
        for j, (name, y) in enumerate(lines):
            s = style(len(result["models"]) + j + 1)
            s["marker"] = None
            ax.plot([nf[0], nf[-1]], [y, y], label=name, linewidth=1.2, **s)
            n += 1
    start = m0["boundaries_nf"]["scale_out_from"]
    if m0["ratio_up_over_out"] > 1 + 1e-9 and start <= nf[-1]:
        ax.axvspan(max(start, nf[0]), nf[-1], color="#f4cccc", alpha=0.6, label="dead zone (scale-out bound)",
                   zorder=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("FFN size N_F (nodes)")
    ax.grid(True, which="both", alpha=0.3)
    if legend:
        ax.legend(fontsize=7)
    return n


def comm_roofline(result: dict, ax=None):
    """The communication roofline of ``ridgeline.commroof(...)``: HFU ceiling vs N_F (log-log) of each
    model, with the compute, scale-up and scale-out roofs (one model) and the dead zone, where the
    scale-out link binds, shaded."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.figure(figsize=(6.5, 4.2))
    ax = ax if ax is not None else fig.add_subplot()
    _commroof_axes(ax, result, roofs=True)
    ax.set_ylabel("HFU ceiling")
    ax.set_title(f"Communication roofline of the FFN side on {result['hardware']}")
    fig.tight_layout()
    return fig


def hfu_panels(results: Sequence[dict], titles: Optional[Sequence[str]] = None, ncols: int = 4):
    """The AFD paper's Fig. 4 layout: one panel per platform (``commroof`` result each, typically 8),
    HFU ceiling vs N_F of every model, the dead zone shaded, the y axis shared; one legend."""
    plt = _plt()
    n = len(results)
    rows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(rows, ncols, figsize=(3.2 * ncols, 2.8 * rows), sharey=True, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        _commroof_axes(ax, results[k], roofs=False, legend=False)
        ax.set_title(titles[k] if titles else results[k]["hardware"], fontsize=10)
        if k % ncols == 0:
            ax.set_ylabel("HFU ceiling")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.08 + 0.02 * (len(labels) > 4), 1, 1))
    return fig


def crossover_heatmap(result: dict, ax=None):
    """``ridgeline.compare(...)`` as a heatmap: AFD score / EP score per (context, TPOT SLO) cell;
    blue where EP wins (< 1), orange where AFD wins (> 1), each cell annotated."""
    plt = _plt()
    import numpy as np

    cells = result["cells"]
    contexts = list(dict.fromkeys(c["context"] for c in cells))
    slos = list(dict.fromkeys(c["tpot_slo"] for c in cells))
    z = np.full((len(contexts), len(slos)), np.nan)
    for c in cells:
        if c["ratio_afd_over_ep"] is not None:
            z[contexts.index(c["context"]), slos.index(c["tpot_slo"])] = c["ratio_afd_over_ep"]
    fig = ax.figure if ax is not None else plt.figure(figsize=(1.3 * len(slos) + 2.5, 0.8 * len(contexts) + 1.8))
    ax = ax if ax is not None else fig.add_subplot()
    span = np.nanmax(np.abs(np.log2(z))) if np.isfinite(z).any() else 1.0
    from matplotlib.colors import LogNorm

    span = max(span, 0.05)
    im = ax.imshow(z, cmap="PuOr_r", norm=LogNorm(vmin=2 ** -span, vmax=2 ** span), origin="lower", aspect="auto")
    for i, ctx in enumerate(contexts):
        for j, slo in enumerate(slos):
            cell = next(c for c in cells if c["context"] == ctx and c["tpot_slo"] == slo)
            text = f"{z[i, j]:.2f}\n{cell['winner']}" if np.isfinite(z[i, j]) else f"{cell['winner']}\nonly"
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(slos)), slos)
    ax.set_yticks(range(len(contexts)), contexts)
    ax.set_xlabel("TPOT SLO")
    ax.set_ylabel("context (tokens)")
    hw = "+".join(result["hardware"]) if isinstance(result["hardware"], list) else result["hardware"]
    ax.set_title(f"AFD / EP best score: {result['model']} on {hw}")
    fig.colorbar(im, ax=ax, label="AFD / EP (> 1: AFD wins)")
    fig.tight_layout()
    return fig


def pareto(result: dict, ax=None):
    """The Pareto frontier of ``ridgeline.plan(..., pareto=True)``: tokens/s per GPU against tokens/s
    per user, one series per strategy, the best EP and AFD plans marked."""
    plt = _plt()
    if "pareto" not in result:
        raise ValueError("pareto(): the plan result has no frontier. Fix: call ridgeline.plan(..., pareto=True).")
    fig = ax.figure if ax is not None else plt.figure(figsize=(6, 4))
    ax = ax if ax is not None else fig.add_subplot()
    k = 0
    for strategy in ("ep", "afd"):
        pts = sorted((p for p in result["pareto"] if p["strategy"] == strategy),
                     key=lambda p: p["tokens_per_s_per_user"])
        if pts:
            ax.plot([p["tokens_per_s_per_user"] for p in pts], [p["tokens_per_s_per_gpu"] for p in pts],
                    label=f"{strategy.upper()} frontier", **style(k))
            k += 1
    for strategy in ("ep", "afd"):
        best = result.get(strategy)
        if best:
            s = style(k)
            s["linestyle"] = "none"
            ax.plot([best["tokens_per_s_per_user"]], [best["tokens_per_s_per_gpu"]], markersize=11,
                    markerfacecolor="none", markeredgewidth=2, label=f"best {strategy.upper()}: {best['plan']}", **s)
            k += 1
    ax.set_xlabel("tokens/s per user")
    ax.set_ylabel("tokens/s per GPU")
    ax.set_title(f"{result['model']}: throughput vs interactivity (TPOT <= {result['tpot_slo_ms']:g} ms)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


_STAGES = {"attention": "#1f77b4", "dispatch": "#ff7f0e", "FFN": "#2ca02c", "combine": "#9467bd"}
_HATCH = {"attention": "", "dispatch": "//", "FFN": "..", "combine": "\\\\"}


def _schedule_bars(b: dict, strategy: str, m: int, layers: int):
    """(row, micro-batch, stage, start_ms, length_ms) of the steady-state schedule of `layers` layers."""
    ta, tf, td, tc, slot = (b["attention_ms"], b["ffn_ms"], b["dispatch_ms"], b["combine_ms"], b["slot_ms"])
    bars = []
    if strategy == "afd" or m == 1:
        # Micro-batch i of layer l starts attention at (l m + i) x slot and flows through
        # dispatch, FFN and combine; the slot already covers the round trip / m.
        rows = ({"attention": "attention GPUs", "dispatch": "A->F link", "FFN": "FFN GPUs", "combine": "F->A link"}
                if strategy == "afd" else {"attention": "GPU compute", "dispatch": "network", "FFN": "GPU compute",
                                           "combine": "network"})
        step = slot if strategy == "afd" else ta + td + tf + tc
        for l in range(layers):
            for i in range(m):
                t = (l * m + i) * step
                for stage, length in (("attention", ta), ("dispatch", td), ("FFN", tf), ("combine", tc)):
                    bars.append((rows[stage], i, stage, t, length))
                    t += length
        return bars
    # EP two-batch overlap (m = 2), decode stage order: dispatch A beside shared experts A and B's
    # attention before the core, FFN A alone, combine A beside B's core, then A and B swapped;
    # each phase as long as its longer member (contention not drawn).
    before = b.get("attention_before_core_ms", ta) + b.get("shared_experts_ms", 0.0)
    after = b.get("attention_after_core_ms", 0.0)
    phases = []  # (compute stage, micro-batch, ms), (transfer, micro-batch, ms) or None
    for x, y in ((0, 1), (1, 0)):
        phases += [(("attention", y, before), ("dispatch", x, td)), (("FFN", x, tf), None),
                   (("attention", y, after), ("combine", x, tc))]
    t = 0.0
    for l in range(layers):
        for (stage, mb, length), comm in phases:
            bars.append(("GPU compute", mb, stage, t, length))
            if comm:
                bars.append(("network", comm[1], comm[0], t, comm[2]))
                length = max(length, comm[2])
            t += length
    return bars


def schedule(plan: dict, layers: int = 2, micro_batches: Optional[int] = None, ax=None):
    """One MoE layer's ping-pong schedule as a Gantt chart (two layers by default, so the wrap-around
    shows): attention, dispatch, FFN and combine of each micro-batch on the attention GPUs, the
    A->F link, the FFN GPUs and the F->A link (EP: GPU compute and network), from the stage times
    of ``breakdown``. Gaps in a row are its bubbles.

    ``plan``: a searched plan (``plan(...)["afd"]`` or ``["ep"]``, which carry their deployment) or an
    ``evaluate`` result with ``micro_batches`` given."""
    plt = _plt()
    strategy = plan["strategy"]
    m = micro_batches or plan.get("deployment", {}).get("micro_batches")
    if not m:
        raise ValueError("schedule(): the result names no micro-batch count. Fix: pass micro_batches=.")
    bars = _schedule_bars(plan["breakdown"], strategy, int(m), layers)
    rows = list(dict.fromkeys(r for r, *_ in bars))
    fig = ax.figure if ax is not None else plt.figure(figsize=(8, 1.0 + 0.55 * len(rows)))
    ax = ax if ax is not None else fig.add_subplot()
    seen = set()
    for row, mb, stage, start, length in bars:
        y = len(rows) - 1 - rows.index(row)
        label = stage if stage not in seen else None
        seen.add(stage)
        ax.barh(y, length, left=start, height=0.6, color=_STAGES[stage], hatch=_HATCH[stage], edgecolor="black",
                linewidth=0.5, alpha=0.55 + 0.45 * (mb % 2 == 0), label=label)
        if length > 0.04 * (max(s + l for _, _, _, s, l in bars)):
            ax.text(start + length / 2, y, f"{mb + 1}", ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), list(reversed(rows)))
    ax.set_xlabel("time (ms)")
    slot = plan["breakdown"]["slot_ms"]
    title = plan.get("plan", strategy.upper())
    ax.set_title(f"{title}: {layers} layer(s), {m} micro-batches, slot {slot * 1e3:.0f} us (numbers: micro-batch)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def alpha_penalties(result: dict, ax=None):
    """``ridgeline.imbalance(alpha=True)``: alpha (per-node throughput kept under expert imbalance) vs
    lambda, EP (one line per sigma) and AFD (per N_F and sigma), the AFD paper's Fig. 6."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.figure(figsize=(6.5, 4.2))
    ax = ax if ax is not None else fig.add_subplot()
    series = {}
    for r in result["alpha"]:
        key = (f"EP sigma={r['sigma']:g}" if r["strategy"] == "ep" else f"AFD N_F={r['nf']} sigma={r['sigma']:g}")
        series.setdefault(key, []).append((r["lambda"], r["alpha"]))
    for i, (name, pts) in enumerate(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name, markersize=3, **style(i))
    ax.set_xlabel("lambda (EP: t_a / t_f;  AFD: N_A / N_F)")
    ax.set_ylabel("alpha (throughput kept)")
    ax.set_title("Throughput penalty under expert imbalance")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def predicted_vs_measured(result: dict, ax=None, band: float = 0.2):
    """``ridgeline.validate()``: predicted against measured tokens/s per GPU (decode, or prompt
    tokens for a prefill folder), one series per model and strategy (prefill: per parallelism),
    the y = x line and a +-``band`` band; the worst point is labelled."""
    plt = _plt()
    fig = ax.figure if ax is not None else plt.figure(figsize=(5.5, 5))
    ax = ax if ax is not None else fig.add_subplot()
    prefill = result.get("phase") == "prefill"
    mkey = "measured_input_tokens_per_s_per_gpu" if prefill else "measured_tokens_per_s_per_gpu"
    pkey = "predicted_input_tokens_per_s_per_gpu" if prefill else "predicted_tokens_per_s_per_gpu"
    groups = {}
    for p in result["points"]:
        if prefill:
            name = f"prefill {p['parallel'].upper()}"
        else:
            ev = p["evaluation"]
            name = f"{ev['model']} {ev['strategy'].upper()}" + (" aggregated" if p.get("serving") == "aggregated" else "")
        groups.setdefault(name, []).append(p)
    lo = min(min(p[mkey], p[pkey]) for p in result["points"])
    hi = max(max(p[mkey], p[pkey]) for p in result["points"])
    lo, hi = max(lo / 1.5, 1e-3), hi * 1.5
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="predicted = measured")
    ax.fill_between([lo, hi], [lo * (1 - band), hi * (1 - band)], [lo * (1 + band), hi * (1 + band)],
                    color="#dddddd", alpha=0.6, label=f"+-{band * 100:.0f} %")
    for i, (name, pts) in enumerate(sorted(groups.items())):
        s = style(i)
        s["linestyle"] = "none"
        ax.plot([p[mkey] for p in pts], [p[pkey] for p in pts], label=name, markersize=7, **s)
    worst = result["summary"]["max_abs_error_point"]
    for p in result["points"]:
        if p["point"] == worst:
            ax.annotate(f"{worst}\n{p['signed_error'] * 100:+.0f} %", (p[mkey], p[pkey]),
                        fontsize=7, xytext=(-8, -22), textcoords="offset points", ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    unit = "prompt tokens/s per GPU" if prefill else "tokens/s per GPU"
    ax.set_xlabel(f"measured {unit}")
    ax.set_ylabel(f"predicted {unit}")
    s = result["summary"]
    ax.set_title(f"{'Prefill validation' if prefill else 'Validation'}: median |error| {s['median_abs_error'] * 100:.1f} %, "
                 f"max {s['max_abs_error'] * 100:.1f} %", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _ratio(afd: Optional[float], ep: Optional[float]) -> float:
    """AFD / EP best score; inf when only AFD is feasible, 0 when only EP is, nan when neither."""
    afd, ep = afd or 0.0, ep or 0.0
    if ep > 0:
        return afd / ep
    return math.inf if afd > 0 else math.nan


def sensitivity_tornado(result: dict, ax=None):
    """The verdict's sensitivity as a tornado chart: for each uncertain input of ``ridgeline.plan``
    (transport contention, per-transfer cost, iteration gap, expert imbalance, attention
    efficiency), the best-AFD / best-EP score ratio at the low and the high end of its sourced
    range, as two bars (low above high) from the baseline ratio, widest swing on top. A bar crossing the
    ``AFD = EP`` line is an input whose range flips the winner.

    ``result``: ``plan(..., sensitivity=True)`` (each end re-searched) or a plain ``plan(...)``
    (its ``sensitivity_resized`` rows: the two best plans re-evaluated, not re-searched). Ends where
    only one strategy is feasible are drawn at the axis edge and labelled "AFD only" / "EP only"."""
    plt = _plt()
    searched = bool(result.get("sensitivity"))
    rows = result.get("sensitivity") or result.get("sensitivity_resized")
    if not rows:
        raise ValueError("sensitivity_tornado(): the result has no sensitivity rows. "
                         "Fix: pass a ridgeline.plan(...) result (sensitivity=True re-searches each end).")
    base = result.get("ratio")
    if base is None or not math.isfinite(base):
        base = _ratio((result.get("afd") or {}).get("score"), (result.get("ep") or {}).get("score"))
    ends = [(r, _ratio(r["afd_low"], r["ep_low"]), _ratio(r["afd_high"], r["ep_high"])) for r in rows]
    finite = [x for _, lo, hi in ends for x in (lo, hi) if math.isfinite(x)] + [1.0]
    if math.isfinite(base):
        finite.append(base)
    else:
        base = 1.0
    span = max(max(finite) - min(finite), 0.05)
    left, right = max(0.0, min(finite) - 0.25 * span), max(finite) + 0.25 * span

    def clip(x: float) -> float:
        return right if x == math.inf else left if x == 0 and left > 0 else x

    ends.sort(key=lambda e: abs(clip(e[2]) - clip(e[1])) if all(math.isfinite(x) for x in e[1:]) else math.inf)
    fig = ax.figure if ax is not None else plt.figure(figsize=(7.5, 1.2 + 0.45 * len(ends)))
    ax = ax if ax is not None else fig.add_subplot()
    for k, (which, label) in enumerate(((1, "low end of the range"), (2, "high end of the range"))):
        s = style(k)
        xs = [clip(e[which]) if not math.isnan(e[which]) else base for e in ends]
        ys = [i + (0.19 if k == 0 else -0.19) for i in range(len(ends))]  # side by side: neither hides
        ax.barh(ys, [x - base for x in xs], left=base, height=0.36, color=s["color"],
                hatch=("" if k == 0 else "//"), edgecolor="black", linewidth=0.5, alpha=0.7, label=label)
        for i, (e, x) in enumerate(zip(ends, xs)):
            r, raw = e[0], e[which]
            end = r["low"] if which == 1 else r["high"]
            note = "AFD only" if raw == math.inf else "EP only" if raw == 0 else "none feasible" if math.isnan(raw) else ""
            text = f"{end}" + (f" ({note})" if note else "")
            ax.text(x, ys[i], f" {text} ", ha="left" if x >= base else "right", va="center", fontsize=7)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1, label="AFD = EP (winner flips)")
    ax.axvline(base, color="#555555", linestyle="-", linewidth=1, label=f"baseline {base:.2f}")
    ax.set_yticks(range(len(ends)), [e[0]["parameter"] for e in ends], fontsize=8)
    ax.set_xlim(left - 0.15 * span, right + 0.15 * span)
    ax.set_xlabel(f"best AFD / best EP ({result.get('objective', 'score')}; > 1: AFD wins)")
    how = "each end re-searched" if searched else "best plans re-evaluated"
    ax.set_title(f"{result.get('model', '')}: sensitivity of the verdict ({how})", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


_SWEEP_AXES = {"tpot_slo_ms": ("TPOT SLO (ms)", "TPOT SLO"), "context_tokens": ("context (tokens)", "context"),
               "scale_out_bandwidth": ("scale-out bandwidth per GPU (Gb/s)", "scale-out bandwidth")}


def sweep(result: dict, x: Optional[str] = None, ax=None):
    """``ridgeline.sweep(...)``: the best EP and the best AFD score against one grid axis, one pair of
    lines per combination of the other axes (model, hardware, ...); a point with no feasible plan is
    left out. ``x``: "tpot_slo_ms", "context_tokens" or "scale_out_bandwidth" (default: the first of
    them that the sweep varies)."""
    plt = _plt()
    rows = result["rows"]
    varied = [k for k in ("tpot_slo_ms", "context_tokens", "scale_out_bandwidth")
              if len({r[k] for r in rows}) > 1]
    x = x or (varied[0] if varied else "tpot_slo_ms")
    if x not in _SWEEP_AXES:
        raise ValueError(f"sweep(): x={x!r} is not a grid axis. Fix: one of {', '.join(_SWEEP_AXES)}.")

    def xval(r: dict) -> float:
        if x != "scale_out_bandwidth":
            return float(r[x])
        from . import parse_quantity

        return parse_quantity(r[x], "bandwidth") * 8 / 1e9 if r[x] else math.nan

    keys = [k for k in ("model", "hardware", "tpot_slo_ms", "context_tokens", "scale_out_bandwidth")
            if k != x and len({r[k] for r in rows}) > 1]
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    fig = ax.figure if ax is not None else plt.figure(figsize=(7.5, 4.5))
    ax = ax if ax is not None else fig.add_subplot()
    units = {"tpot_slo_ms": "ms", "context_tokens": "tokens"}
    k = 0
    for key, rs in groups.items():
        rs = sorted(rs, key=xval)
        name = " ".join(f"{v:g} {units[n]}" if n in units else str(v) for n, v in zip(keys, key))
        for strategy in ("ep", "afd"):
            pts = [(xval(r), r[f"{strategy}_score"]) for r in rs if r[f"{strategy}_score"]]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], markersize=5,
                    label=f"{name + ' ' if name else ''}{strategy.upper()}", **style(k))
            k += 1
    ax.set_xlabel(_SWEEP_AXES[x][0])
    ax.set_ylabel(f"best score ({result.get('objective', 'score')})")
    ax.set_title(f"Sweep: best EP and best AFD per {_SWEEP_AXES[x][1]}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig
