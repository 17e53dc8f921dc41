"""ridgeline.plot: each function returns a Figure with one drawn series per expected line, and
series differ in colour, line style and marker."""
import pytest

import ridgeline as rl

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import ridgeline.plot as rp  # noqa: E402

HW = "examples/paper-afd-roofline/hardware"


@pytest.fixture(autouse=True)
def _close():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def lines(fig, ax=0):
    return [l for l in fig.axes[ax].get_lines() if not l.get_label().startswith("_")]


def distinct(ls):
    keys = [(l.get_color(), str(l.get_linestyle()), str(l.get_marker())) for l in ls]
    return len(set(keys)) == len(keys)


@pytest.fixture(scope="module")
def plan():
    from conftest import ROOT
    import os

    os.chdir(ROOT)
    return rl.plan("deepseek-v3", "h800", slo="50 ms", pareto=True)


def test_comm_roofline_one_model_has_its_roofs_and_the_dead_zone():
    r = rl.commroof("deepseek-v3", "h800", nf="1..64", hwdb=HW)
    fig = rp.comm_roofline(r)
    ls = lines(fig)
    assert [l.get_label() for l in ls] == ["deepseek-v3 HFU ceiling", "compute roof (100 %)", "scale-up roof",
                                           "scale-out roof"]
    assert distinct(ls)
    assert any("dead zone" in p.get_label() for p in fig.axes[0].patches)


def test_hfu_panels_eight_platforms_share_y():
    models = ["deepseek-v3", "kimi-k2", "step-3"]
    res = [rl.commroof(models, hw, nf="1..32", hwdb=HW) for hw in ("h800", "h20", "gb200", "b200")]
    fig = rp.hfu_panels(res, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4
    assert all(len(lines(fig, i)) == 3 for i in range(4)) and distinct(lines(fig, 0))
    ylims = {ax.get_ylim() for ax in visible}
    assert len(ylims) == 1  # shared y


def test_crossover_heatmap_one_cell_per_point():
    c = rl.compare("deepseek-v3", "h800", slo=["30 ms", "100 ms"], context=[1024, 16384])
    fig = rp.crossover_heatmap(c)
    assert len(fig.axes[0].images) == 1 and fig.axes[0].images[0].get_array().shape == (2, 2)
    assert len(fig.axes[0].texts) == 4


def test_pareto_one_series_per_strategy_and_the_best_plans(plan):
    fig = rp.pareto(plan)
    names = [l.get_label() for l in lines(fig)]
    # One frontier per strategy that has points on it (a dominated strategy has none), then the
    # two best plans.
    on_frontier = {p["strategy"] for p in plan["pareto"]}
    frontiers = [f"{s.upper()} frontier" for s in ("ep", "afd") if s in on_frontier]
    assert frontiers and names[:len(frontiers)] == frontiers
    assert names[len(frontiers):] == [f"best EP: {plan['ep']['plan']}", f"best AFD: {plan['afd']['plan']}"]
    assert distinct(lines(fig))
    with pytest.raises(ValueError, match="pareto=True"):
        rp.pareto(rl.plan("deepseek-v3", "h800", strategy="ep"))


def test_schedule_ep_two_batch_overlap_follows_the_decode_stage_order(plan):
    ep = plan["ep"]
    assert ep["deployment"]["micro_batches"] == 2
    b = ep["breakdown"]
    parts = b["attention_before_core_ms"] + b["attention_after_core_ms"] + b["shared_experts_ms"]
    assert parts == pytest.approx(b["attention_ms"])
    fig = rp.schedule(ep, layers=1)
    bars = fig.axes[0].patches
    # Per layer: attention before / after the core and the FFN of each micro-batch (6), and
    # dispatch and combine of each (4).
    assert len(bars) == 10
    rows = {round(p.get_y(), 3) for p in bars}  # GPU compute and network
    assert len(rows) == 2
    end = max(p.get_x() + p.get_width() for p in bars)
    # Contention 0 (the low-latency default): one layer of the drawing is two slots.
    assert end == pytest.approx(2 * b["slot_ms"], rel=1e-6)


def test_schedule_shows_every_stage_of_every_micro_batch(plan):
    afd = plan["afd"]
    m = afd["deployment"]["micro_batches"]
    fig = rp.schedule(afd, layers=2)
    bars = fig.axes[0].patches
    assert len(bars) == 4 * m * 2  # four stages per micro-batch per layer
    labels = {t.get_text() for t in fig.axes[0].get_yticklabels()}
    assert labels == {"attention GPUs", "A->F link", "FFN GPUs", "F->A link"}
    # Bars on one row never overlap: a row is one resource.
    by_row = {}
    for b in bars:
        by_row.setdefault(round(b.get_y(), 3), []).append((b.get_x(), b.get_x() + b.get_width()))
    for spans in by_row.values():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-9 for a, b in zip(spans, spans[1:]))
    # EP with two-batch overlap: six compute and four transfer bars per layer
    # (test_schedule_ep_two_batch_overlap_follows_the_decode_stage_order).
    assert len(rp.schedule(plan["ep"], layers=1).axes[0].patches) == 10


def test_alpha_penalties_one_line_per_curve():
    a = rl.imbalance(alpha=True, sigma=[0.7, 0.8], nf=[2, 4])
    fig = rp.alpha_penalties(a)
    assert len(lines(fig)) == 2 * (1 + 2) and distinct(lines(fig))


def test_predicted_vs_measured():
    v = rl.validate("examples/validation")
    fig = rp.predicted_vs_measured(v)
    groups = {f"{p['evaluation']['model']} {p['evaluation']['strategy'].upper()}" for p in v["points"]}
    pts = [l for l in lines(fig) if l.get_linestyle() == "None"]
    assert len(pts) == len(groups) and sum(len(l.get_xdata()) for l in pts) == len(v["points"])
    assert distinct(lines(fig))


def test_predicted_vs_measured_prefill_and_aggregated():
    pre = rl.validate("examples/validation/prefill")
    fig = rp.predicted_vs_measured(pre)
    pts = [l for l in lines(fig) if l.get_linestyle() == "None"]
    assert sum(len(l.get_xdata()) for l in pts) == len(pre["points"])
    assert {l.get_label() for l in pts} == {f"prefill {p['parallel'].upper()}" for p in pre["points"]}
    assert "prompt tokens/s" in fig.axes[0].get_xlabel()
    agg = rl.validate("examples/validation/aggregated")
    pts = [l for l in lines(rp.predicted_vs_measured(agg)) if l.get_linestyle() == "None"]
    assert all(l.get_label().endswith("aggregated") for l in pts)


def _bars(fig):
    return [c for c in fig.axes[0].containers]


def test_sensitivity_tornado_draws_each_end_of_each_input(plan):
    rows = plan["sensitivity_resized"]
    fig = rp.sensitivity_tornado(plan)
    bars = _bars(fig)
    assert len(bars) == 2 and all(len(b) == len(rows) for b in bars)
    low, high = bars
    assert (low.patches[0].get_facecolor(), low.patches[0].get_hatch()) != \
        (high.patches[0].get_facecolor(), high.patches[0].get_hatch())
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(names) == sorted(r["parameter"] for r in rows)
    # Each bar ends at that end's AFD / EP ratio; the winner at that end is on its side of 1.
    by_name = {r["parameter"]: r for r in rows}
    for i, name in enumerate(names):
        r = by_name[name]
        for bar, end in ((low.patches[i], "low"), (high.patches[i], "high")):
            x = bar.get_x() + bar.get_width()
            assert x == pytest.approx(r[f"afd_{end}"] / r[f"ep_{end}"], rel=1e-9)
            assert (x > 1) == (r[f"winner_{end}"] == "afd"), (name, end, x)
    assert "re-evaluated" in fig.axes[0].get_title()


def test_sensitivity_tornado_searched_and_one_sided_ends():
    searched = rl.plan("deepseek-v3", "h800", slo="50 ms", sensitivity=True)
    fig = rp.sensitivity_tornado(searched)
    assert "re-searched" in fig.axes[0].get_title()
    assert all(len(b) == len(searched["sensitivity"]) for b in _bars(fig))
    # An end where EP has no feasible plan is drawn at the right edge and says so.
    one = dict(searched, sensitivity=[dict(searched["sensitivity"][0], ep_high=0.0, winner_high="afd")])
    fig = rp.sensitivity_tornado(one)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("AFD only" in t for t in texts), texts
    high = _bars(fig)[1].patches[0]
    assert high.get_x() + high.get_width() >= max(p.get_x() + p.get_width() for p in _bars(fig)[0].patches)
    with pytest.raises(ValueError, match="sensitivity"):
        rp.sensitivity_tornado({"model": "x", "ratio": 1.0})


def test_sweep_two_lines_per_grid_line_infeasible_points_left_out():
    r = rl.sweep("deepseek-v3,kimi-k2", "h800,h20", slo=["5 ms", "30 ms", "50 ms", "100 ms"])
    fig = rp.sweep(r)
    ls = lines(fig)
    assert len(ls) == 2 * 4 and distinct(ls)  # (model, hardware) x (EP, AFD)
    for l in ls:
        label = l.get_label()
        model, hw, strategy = label.split()
        want = sorted((row["tpot_slo_ms"], row[f"{strategy.lower()}_score"]) for row in r["rows"]
                      if row["model"] == model and row["hardware"] == hw and row[f"{strategy.lower()}_score"])
        assert list(zip(l.get_xdata(), l.get_ydata())) == want, label
    assert any(len(l.get_xdata()) < 4 for l in ls)  # 5 ms has no feasible plan on some hardware
    bw = rl.sweep("deepseek-v3", "h800", slo="50 ms", scale_out_bandwidth=["200 Gb/s", "400 Gb/s", "800 Gb/s"])
    ls = lines(rp.sweep(bw))
    assert len(ls) == 2 and list(ls[0].get_xdata()) == pytest.approx([200, 400, 800])
    with pytest.raises(ValueError, match="grid axis"):
        rp.sweep(bw, x="gpus")
