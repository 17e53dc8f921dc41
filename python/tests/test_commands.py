"""Each Python command returns what `ridgeline <command> --json` prints for the same inputs (one
schema, built by the same library code), and refuses bad input with the CLI's message."""
import pytest

import ridgeline as rl
from conftest import ROOT


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # relative file names are echoed in the results: same for both


def same(py, cli, drop=()):
    """Equal except for `meta` (argv, timestamp) and run-time fields such as the search wall time."""
    py, cli = dict(py), dict(cli)
    assert set(py["meta"]) == set(cli["meta"]) == {"tool", "version", "argv", "timestamp"}
    assert py["meta"]["version"] == cli["meta"]["version"]
    for d in (py, cli):
        d.pop("meta")
        for path in drop:
            node = d
            for k in path[:-1]:
                node = node[k]
            node.pop(path[-1])
    assert py == cli


def test_plan_matches_cli(cli):
    got = rl.plan("deepseek-v3", "h800", slo="50 ms", top=2, pareto=True)
    want = cli("plan", "--model", "deepseek-v3", "--hardware", "h800", "--slo", "50 ms", "--top", "2", "--pareto",
               "--json")
    assert got["winner"] in ("ep", "afd") and got["ratio"] > 0 and "meta" in got
    same(got, want, drop=[("search", "wall_s")])


def test_plan_si_numbers_and_unit_strings_agree():
    a = rl.plan("deepseek-v3", "h800", slo=0.05, context=4096, strategy="ep")
    b = rl.plan("deepseek-v3", ["h800"], slo="50 ms", context="4096", strategy="ep")
    assert a["tpot_slo_ms"] == b["tpot_slo_ms"] == pytest.approx(50.0)
    assert a["context_tokens"] == b["context_tokens"] == 4096
    assert a["ep"]["plan"] == b["ep"]["plan"]


def test_plan_heterogeneous_cost_matches_cli(cli):
    kw = dict(attention_hardware="h20", ffn_hardware="l40s", weights="bf16", slo="150 ms", objective="cost",
              strategy="afd")
    got = rl.plan("dbrx", "h20", **kw)
    want = cli("plan", "--model", "dbrx", "--hardware", "h20", "--attention-hardware", "h20", "--ffn-hardware",
               "l40s", "--weights", "bf16", "--slo", "150 ms", "--objective", "cost", "--strategy", "afd", "--json")
    same(got, want, drop=[("search", "wall_s")])


def test_plan_calibration_matches_cli(cli):
    path = "examples/calibration/symmetric-contention.json"
    cal = rl.load_calibration(path)
    assert cal["file"].endswith("symmetric-contention.json") and cal["source"]
    got = rl.plan("deepseek-v3", "h800", strategy="ep", calibration=cal)
    want = cli("plan", "--model", "deepseek-v3", "--hardware", "h800", "--strategy", "ep", "--calibration", path,
               "--json")
    assert got["calibration"]["source"] == cal["source"]
    same(got, want, drop=[("search", "wall_s")])


def test_evaluate_matches_cli(cli):
    path = "examples/deepseek-v3-h800-afd.json"
    got = rl.evaluate(path, gap="10 ms", context=8192, routing="balanced")
    want = cli("evaluate", path, "--gap", "10 ms", "--context", "8192", "--routing", "balanced", "--json")
    same(got, want)
    two = rl.evaluate([path, "examples/deepseek-v3-h800-ep.json"])
    same(two, cli("evaluate", path, "examples/deepseek-v3-h800-ep.json", "--json"))


def test_evaluate_leaves_the_scenario_alone(db):
    s = rl.load_scenario("examples/deepseek-v3-h800-ep.json", db)
    before = rl.evaluate(s)["tpot_ms"]
    assert rl.evaluate(s, gap="30 ms")["tpot_ms"] > before
    assert rl.evaluate(s)["tpot_ms"] == before


def test_sweep_matches_cli(cli):
    got = rl.sweep("deepseek-v3", "h800", slo=["30 ms", 0.05], context=4096, scale_out_bandwidth="800 Gb/s")
    want = cli("sweep", "--models", "deepseek-v3", "--hardware", "h800", "--slo", "30 ms,0.05 s", "--context", "4096",
               "--scale-out-bandwidth", "800 Gb/s", "--json")
    same(got, want)
    assert len(got.to_frame()) == 2


def test_compare_matches_cli(cli):
    got = rl.compare("deepseek-v3", "h800", slo=["30 ms", "100 ms"], context=[1024, "16384"])
    want = cli("compare", "--model", "deepseek-v3", "--hardware", "h800", "--slo", "30 ms,100 ms", "--context",
               "1024,16384", "--json")
    same(got, want)


def test_keywords_are_the_cli_flags_and_old_spellings_warn():
    # One spelling per concept, as in the CLI (--model, --slo, --context); the old keywords still work.
    import inspect

    for fn in (rl.plan, rl.sweep, rl.compare, rl.roofline, rl.commroof, rl.deadzone, rl.imbalance):
        params = inspect.signature(fn).parameters
        for old, new in (("models", "model"), ("slos", "slo"), ("contexts", "context")):
            if old in params:
                assert new in params and params[old].default is None, (fn.__name__, old)
    new = rl.compare("deepseek-v3", "h800", slo="50 ms", context=4096)
    with pytest.warns(DeprecationWarning, match="deprecated: write (slo|context)="):
        old = rl.compare("deepseek-v3", "h800", slos="50 ms", contexts=4096)
    assert [c["ratio_afd_over_ep"] for c in old["cells"]] == [c["ratio_afd_over_ep"] for c in new["cells"]]
    assert len(new["cells"]) == 1
    with pytest.warns(DeprecationWarning, match="model="):
        old = rl.sweep(models="kimi-k2", hardware="h800")
    assert old["rows"] == rl.sweep(model="kimi-k2", hardware="h800")["rows"]
    with pytest.raises(TypeError, match="both slo= and"):
        rl.compare("deepseek-v3", "h800", slo="30 ms", slos="50 ms")


def test_roofline_matches_cli(cli):
    got = rl.roofline("deepseek-v3", "h800", batch=64, context=8192, ep=32)
    same(got, cli("roofline", "--model", "deepseek-v3", "--hardware", "h800", "--batch", "64", "--context", "8192",
                  "--ep", "32", "--json"))
    df = got.to_frame()
    assert set(df["bound"]) <= {"compute", "memory"} and len(df) == len(got["operators"])


def test_commroof_and_deadzone_match_cli(cli):
    hw = "examples/paper-afd-roofline/hardware"
    got = rl.commroof(["deepseek-v3", "kimi-k2"], "h800", nf=range(1, 17), hwdb=hw)
    same(got, cli("commroof", "--model", "deepseek-v3,kimi-k2", "--hardware", "h800", "--nf", "1..16", "--hwdb", hw,
                  "--json"))
    assert len(got.to_frame()) == 32
    dz = rl.deadzone("deepseek-v3", target_hfu=0.5, slo=0.05)
    same(dz, cli("deadzone", "--model", "deepseek-v3", "--target-hfu", "0.5", "--slo", "0.05 s", "--json"))


def test_imbalance_and_alpha_match_cli(cli):
    got = rl.imbalance("deepseek-v3", ranks=[8, 64], tokens="16,128", zipf=0.8, lambda_ep=3)
    same(got, cli("imbalance", "--model", "deepseek-v3", "--ranks", "8,64", "--tokens", "16,128", "--zipf", "0.8",
                  "--lambda", "3", "--json"))
    a = rl.imbalance(alpha=True, sigma=[0.7, 0.8], nf="2,4")
    same(a, cli("imbalance", "--alpha", "--sigma", "0.7,0.8", "--nf", "2,4", "--json"))


def test_validate_matches_cli(cli):
    got = rl.validate("examples/validation")
    same(got, cli("validate", "examples/validation", "--json"))
    assert got["summary"]["points"] == len(got["points"]) > 5
    cal = "examples/calibration/symmetric-contention.json"
    same(rl.validate("examples/validation", calibration=cal),
         cli("validate", "examples/validation", "--calibration", cal, "--json"))


def test_validate_prefill_and_aggregated_match_cli(cli):
    pre = rl.validate("examples/validation/prefill")
    same(pre, cli("validate", "examples/validation/prefill", "--json"))
    assert pre["phase"] == "prefill" and pre["summary"]["points"] == len(pre["points"]) >= 8
    assert all(p["predicted_input_tokens_per_s_per_gpu"] > 0 for p in pre["points"])
    agg = rl.validate("examples/validation/aggregated")
    same(agg, cli("validate", "examples/validation/aggregated", "--json"))
    for p in agg["points"]:
        assert p["serving"] == "aggregated"
        assert p["predicted_tokens_per_s_per_gpu"] < p["evaluation"]["tokens_per_s_per_gpu"]
        assert p["aggregated"]["prefill_chunk_ms"] > 0


@pytest.mark.parametrize(
    "call, argv",
    [
        (lambda: rl.plan("deepseek-v3", "h8000"), ["plan", "--hardware", "h8000"]),
        (lambda: rl.plan("deepseek-v3", "h800", slo="50 GB"), ["plan", "--slo", "50 GB"]),
        (lambda: rl.plan("deepseek-v3", "h800", slo="nan ms"), ["plan", "--slo", "nan ms"]),
        (lambda: rl.plan("deepseek-v3", "h800", mtp_acceptance=-1.0), ["plan", "--mtp-acceptance", "-1"]),
        (lambda: rl.plan("deepseek-v3", "h800", max_gpus=70000), ["plan", "--max-gpus", "70000"]),
        (lambda: rl.plan("deepseek-v3", "h800", gpus=100, max_gpus=50), ["plan", "--gpus", "100", "--max-gpus", "50"]),
        (lambda: rl.plan("deepseek-v3", "h800", routing="zipf:x"), ["plan", "--routing", "zipf:x"]),
        (lambda: rl.plan("deepseek-v3", "h800", weights="fp9"), ["plan", "--weights", "fp9"]),
        (lambda: rl.plan("deepseek-v3", "h800", gap="-5 ms"), ["plan", "--gap", "-5 ms"]),
        (lambda: rl.plan("deepseek-v3", "h800", objective="speed"), ["plan", "--objective", "speed"]),
        (lambda: rl.evaluate("examples/deepseek-v3-h800-ep.json", routing="zipf:99"),
         ["evaluate", "examples/deepseek-v3-h800-ep.json", "--routing", "zipf:99"]),
        (lambda: rl.evaluate("examples/deepseek-v3-h800-ep.json", mtp_acceptance=0),
         ["evaluate", "examples/deepseek-v3-h800-ep.json", "--mtp-acceptance", "0"]),
        (lambda: rl.roofline("deepseek-v3", "h800", weights="fp9"),
         ["roofline", "--model", "deepseek-v3", "--hardware", "h800", "--weights", "fp9"]),
        (lambda: rl.commroof("deepseek-v3", "h800", nf="0..4"),
         ["commroof", "--model", "deepseek-v3", "--hardware", "h800", "--nf", "0..4"]),
        (lambda: rl.imbalance("deepseek-v3", ranks="1000"), ["imbalance", "--model", "deepseek-v3", "--ranks", "1000"]),
        (lambda: rl.sweep("deepseek-v3", "h800", scale_out_bandwidth="5 ms"),
         ["sweep", "--scale-out-bandwidth", "5 ms"]),
    ],
)
def test_bad_input_raises_with_the_cli_message(cli, call, argv):
    code, message = cli(*argv, error=True)
    with pytest.raises((ValueError, KeyError)) as e:
        call()
    got = e.value.args[0]
    assert got == rl._kwarg_message(message), (got, message)
    # Unknown ids are KeyError; every other bad value is a ValueError.
    assert isinstance(e.value, KeyError) == ("h8000" in argv), type(e.value)


def test_type_errors_are_plain():
    with pytest.raises(TypeError, match="slo"):
        rl.plan("deepseek-v3", "h800", slo=[1, 2])
    with pytest.raises(TypeError, match="unexpected keyword"):
        rl.plan("deepseek-v3", "h800", sloo="50 ms")


def test_parse_quantity_infers_the_kind():
    assert rl.parse_quantity("50 ms") == pytest.approx(0.05)
    assert rl.parse_quantity("400 Gb/s") == pytest.approx(50e9)
    assert rl.parse_quantity("80 GB") == pytest.approx(80e9)
    assert rl.parse_quantity("4096") == 4096.0
    assert rl.parse_quantity("50 ms", "time") == pytest.approx(0.05)
    assert rl.parse_quantity("1 GiB", rl.Dimension.bytes) == 2**30
    with pytest.raises(ValueError, match="wrong kind"):
        rl.parse_quantity("400 GB", "bandwidth")
    with pytest.raises(ValueError, match="unknown unit"):
        rl.parse_quantity("3 parsecs")


def test_help_teaches():
    for fn in (rl.plan, rl.evaluate, rl.sweep, rl.compare, rl.roofline, rl.commroof, rl.deadzone, rl.imbalance,
               rl.validate, rl.load_calibration, rl.parse_quantity):
        assert fn.__doc__ and len(fn.__doc__) > 150, fn.__name__
    assert "winner" in rl.plan.__doc__ and "slo" in rl.plan.__doc__


def test_stubs_are_shipped():
    from pathlib import Path

    pkg = Path(rl.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_core.pyi").exists()
