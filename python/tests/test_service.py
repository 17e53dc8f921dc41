"""rl.plan_service() returns what `ridgeline plan --isl ... --json` prints and rl.emit() the files
`--emit KIND` writes (one library code path for both), and bad input raises the CLI's message."""
import json
import subprocess

import pytest

import ridgeline as rl
from conftest import ROOT

ARGV = ["plan", "--model", "deepseek-v3", "--hardware", "h800", "--isl", "4096", "--osl", "1024", "--ttft", "2 s",
        "--slo", "50 ms", "--strategy", "ep", "--gpus", "64"]
KW = dict(isl=4096, osl=1024, ttft="2 s", slo="50 ms", strategy="ep", gpus=64)


@pytest.fixture(autouse=True)
def _in_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def service():
    return rl.plan_service("deepseek-v3", "h800", **KW)


def same_fields(py, cli):
    """Equal field by field, except `meta` (argv, timestamp) and the search's wall time."""
    py, cli = dict(py), dict(cli)
    assert py.pop("meta")["version"] == cli.pop("meta")["version"]
    py["search"] = {k: v for k, v in py["search"].items() if k != "wall_s"}
    cli["search"] = {k: v for k, v in cli["search"].items() if k != "wall_s"}
    assert set(py) == set(cli)
    for key in cli:
        assert py[key] == cli[key], key


def test_plan_service_matches_cli(cli, service):
    want = cli(*ARGV, "--json")
    assert want["mode"] == "service" and want["disaggregated"] is not None
    assert service["meta"]["argv"][-1] == "ridgeline.plan_service" and service.command == "plan_service"
    same_fields(service, want)
    assert service["emitted"] == [] and service.to_frame is not None


def test_plan_service_rate_and_top_match_cli(cli):
    got = rl.plan_service("deepseek-v3", "h800", isl="2K", osl=512, ttft=1.5, rate=5.0, strategy="ep", top=3,
                          prefill_parallel="ep", prefill_chunks=[4096, 8192], max_gpus=256)
    want = cli("plan", "--model", "deepseek-v3", "--hardware", "h800", "--isl", "2K", "--osl", "512", "--ttft",
               "1.5 s", "--rate", "5", "--strategy", "ep", "--top", "3", "--prefill-parallel", "ep",
               "--prefill-chunks", "4096,8192", "--max-gpus", "256", "--json")
    assert got["sizing"] == {"rate_per_s": 5.0}
    same_fields(got, want)


@pytest.mark.parametrize("kind", ["sglang", "slurm", "k8s", "vllm", "vllm-slurm", "vllm-k8s"])
def test_emit_matches_cli_files(cli, service, tmp_path, kind):
    want = cli(*ARGV, "--emit", kind, "--emit-dir", str(tmp_path), "--json")
    files = rl.emit(service, kind)
    assert sorted(files) == sorted(p.rsplit("/", 1)[1] for p in want["emitted"]) and files
    for name, text in files.items():
        assert isinstance(text, str)
        assert text == (tmp_path / name).read_text(), name
    # The saved JSON, loaded back as a plain dict, gives the same files.
    assert rl.emit(json.loads(json.dumps(want)), kind) == files
    if kind == "vllm":
        assert "vLLM 0.11.0" in files["vllm-decode.sh"] and "vllm serve" in files["vllm-decode.sh"]


def test_emit_backend_and_plain_dicts(service):
    nixl = rl.emit(service, "sglang", disaggregation_backend="nixl")
    assert "--disaggregation-transfer-backend nixl" in nixl["sglang-prefill.sh"]
    assert "--disaggregation-transfer-backend mooncake" in rl.emit(service, "sglang")["sglang-prefill.sh"]
    plain = json.loads(json.dumps(service))  # what json.load gives for `plan --isl ... --json`
    assert type(plain) is dict
    for kind in ("sglang", "vllm", "vllm-slurm", "vllm-k8s"):
        assert rl.emit(plain, kind) == rl.emit(service, kind), kind
    assert rl.emit(dict(service), "vllm", disaggregation_backend="nixl") == rl.emit(service, "vllm")


def test_emit_sglang_rounds_redundant_experts_up_to_a_launchable_count(service):
    # SGLang asserts (routed + redundant experts) % ep_size == 0. A decode instance of 37 GPUs
    # for DeepSeek-V3's 256 experts gets 3 replicas (259 = 7 x 37): the 7 experts per rank the
    # plan prices for its fullest rank (ceil(256 / 37)).
    odd = json.loads(json.dumps(service))
    dep = odd["disaggregated"]["decode"]["deployment"]
    dep["gpus"], dep["redundant_experts"] = 37, 0
    decode = rl.emit(odd, "sglang")["sglang-decode.sh"]
    assert "--ep-size 37" in decode and "--ep-num-redundant-experts 3 " in decode + " "
    assert "3 redundant experts instead of the plan's 0" in decode and "prices 7 experts" in decode
    dep["redundant_experts"] = 32  # 288 does not divide by 37 either: 296 = 8 x 37
    assert "--ep-num-redundant-experts 40" in rl.emit(odd, "sglang")["sglang-decode.sh"]
    dep["gpus"] = 32  # 288 = 9 x 32: kept as planned, no remark
    kept = rl.emit(odd, "sglang")["sglang-decode.sh"]
    assert "--ep-num-redundant-experts 32" in kept and "instead of the plan's" not in kept


def test_emit_refuses_what_is_not_a_service_plan(service):
    decode_only = rl.plan("deepseek-v3", "h800", slo="50 ms", strategy="ep", gpus=64)
    for bad in ({}, {"mode": "decode"}, json.loads(json.dumps(decode_only))):
        with pytest.raises(ValueError, match="not a service plan"):
            rl.emit(bad, "vllm")
    broken = json.loads(json.dumps(service))
    del broken["disaggregated"]["prefill"]["chunk_tokens"]
    with pytest.raises(ValueError, match="service/disaggregated/prefill/chunk_tokens: missing"):
        rl.emit(broken, "sglang")
    broken = json.loads(json.dumps(service))
    broken["disaggregated"]["decode"]["deployment"]["gpus"] = "64"
    with pytest.raises(ValueError, match="deployment/gpus: not a number"):
        rl.emit(broken, "vllm")
    infeasible = dict(json.loads(json.dumps(service)), disaggregated=None)
    with pytest.raises(ValueError, match="no feasible disaggregated plan"):
        rl.emit(infeasible, "k8s")
    with pytest.raises(TypeError, match="plan_service"):
        rl.emit([service], "vllm")
    with pytest.raises(KeyError):
        rl.emit(dict(json.loads(json.dumps(service)), model="no-such-model"), "vllm")


def test_emit_vllm_refuses_mooncake(cli, service):
    code, message = cli(*ARGV, "--emit", "vllm-slurm", "--disaggregation-backend", "mooncake", error=True)
    assert code == 2 and "vLLM 0.11.0 ships no Mooncake KV connector" in message, message
    with pytest.raises(ValueError) as e:
        rl.emit(service, "vllm-slurm", disaggregation_backend="mooncake")
    assert e.value.args[0] == rl._kwarg_message(message)


def test_emit_vllm_ray_instance_from_an_edited_plan(service, tmp_path):
    """A TP prefill group wider than a node (16 GPUs over two 8-GPU nodes) runs under Ray: the
    Slurm and LWS workers start the Ray cluster, wait for both nodes, then serve from node 0."""
    plan = json.loads(json.dumps(service))
    pre = plan["disaggregated"]["prefill"]
    pre.update(parallel="tp", gpus_per_instance=16, micro_batches=1, redundant_experts=0)
    files = rl.emit(plan, "vllm-slurm")
    script = files["vllm-service.sbatch"]
    assert "--tensor-parallel-size 16 --data-parallel-size 1" in script
    assert "--distributed-executor-backend ray" in script and "ray start --head" in script
    assert "-ge 2 ]" in script and 'ray start --address="$LEADER:6379" --block' in script
    (tmp_path / "s.sbatch").write_text(script)
    subprocess.run(["bash", "-n", str(tmp_path / "s.sbatch")], check=True)
    lws = rl.emit(plan, "vllm-k8s")["vllm-lws-prefill.yaml"]
    assert "size: 2" in lws and "ray start --head" in lws and '"$LWS_LEADER_ADDRESS"' in lws
    single = rl.emit(plan, "vllm")["vllm-prefill.sh"]
    assert "run this on its head node only" in single and "ray start" not in single


@pytest.mark.parametrize(
    "kw, argv",
    [
        (dict(KW, rate=5.0), ARGV + ["--rate", "5"]),
        (dict(KW, gpus=0), [a for a in ARGV if a not in ("--gpus", "64")]),
        (dict(KW, isl="many"), ["plan", "--isl", "many", "--gpus", "64"]),
        (dict(KW, ttft="5 GB"), ["plan", "--isl", "4096", "--ttft", "5 GB", "--gpus", "64"]),
        (dict(KW, kv_transport="carrier-pigeon"), ARGV + ["--kv-transport", "carrier-pigeon"]),
        (dict(KW, prefill_chunks=[10]), ARGV + ["--prefill-chunks", "10"]),
        (dict(KW, prefill_parallel="pp"), ARGV + ["--prefill-parallel", "pp"]),
        (dict(KW, rate=-1.0, gpus=0), ["plan", "--isl", "4096", "--rate", "-1"]),
        (dict(KW, objective="hfu"), ARGV + ["--objective", "hfu"]),
        (dict(KW, gpus=9000), ["plan", "--isl", "4096", "--gpus", "9000"]),
        (dict(KW, prefill_hardware="h8000"), ARGV + ["--prefill-hardware", "h8000"]),
    ],
)
def test_bad_service_input_raises_with_the_cli_message(cli, kw, argv):
    code, message = cli(*argv, error=True)
    with pytest.raises((ValueError, KeyError)) as e:
        rl.plan_service("deepseek-v3", "h800", **kw)
    assert e.value.args[0] == rl._kwarg_message(message), (e.value.args[0], message)
    assert isinstance(e.value, KeyError) == ("h8000" in argv), type(e.value)


def test_bad_emit_kind_raises_with_the_cli_message(cli, service):
    for kind, backend, argv in [("trtllm", "mooncake", ["--emit", "trtllm"]),
                                ("sglang", "ucx", ["--emit", "sglang", "--disaggregation-backend", "ucx"])]:
        code, message = cli(*ARGV, *argv, error=True)
        assert code == 2
        with pytest.raises(ValueError) as e:
            rl.emit(service, kind, disaggregation_backend=backend)
        assert e.value.args[0] == rl._kwarg_message(message), (e.value.args[0], message)
