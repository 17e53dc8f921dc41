#!/usr/bin/env bash
# `plan --isl ... --emit sglang|slurm|k8s|vllm|vllm-slurm|vllm-k8s`: every flag of the emitted SGLang commands exists in
# SGLang 0.5.2's argument parser (tests/data/sglang-0.5.2-server-args.json, extracted offline)
# with a value of the right type; every flag of the emitted `vllm serve` commands exists in vLLM
# 0.11.0's (tests/data/vllm-0.11.0-serve-args.json) with a value of the right type, JSON values
# with the config dataclass's keys and choices; the scripts pass `bash -n`; the k8s manifests
# parse as YAML with the expected kinds; each file names the stack version.
set -u
BIN="$1"; SRC="$2"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

ARGS=(plan --isl 4096 --osl 1024 --ttft "2 s" --slo "50 ms" --model deepseek-v3 --hardware h800 --strategy ep --gpus 64)
for kind in sglang slurm k8s; do
  "$BIN" "${ARGS[@]}" --emit "$kind" --emit-dir "$T/$kind" >/dev/null || fail "--emit $kind exit $?"
done
ls "$T/sglang/sglang-prefill.sh" "$T/sglang/sglang-decode.sh" "$T/sglang/sglang-router.sh" "$T/slurm/service.sbatch" \
  "$T/k8s/lws-prefill.yaml" "$T/k8s/lws-decode.yaml" "$T/k8s/lws-router.yaml" >/dev/null ||
  fail "missing emitted files: $(ls -R "$T")"
for f in "$T"/*/*; do
  grep -q "SGLang 0.5.2" "$f" || fail "$f does not name the stack version"
done

python3 - "$SRC/tests/data/sglang-0.5.2-server-args.json" "$T" <<'PY' || fail "emitted flags vs SGLang 0.5.2 parser"
import json, os, re, shlex, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1]))), "cli"))
from flagcheck import flag_values
spec = json.load(open(sys.argv[1]))
assert spec["stack"] == "sglang" and spec["version"] == "0.5.2"
flags = spec["flags"]
root = sys.argv[2]
checked = 0
for sub in ("sglang", "slurm", "k8s"):
    for name in os.listdir(os.path.join(root, sub)):
        text = open(os.path.join(root, sub, name)).read()
        for cmd in re.findall(r"python3 -m sglang\.launch_server(.*?)--port 30000", text, re.S):
            toks = shlex.split(cmd.replace("\\\n", " "), posix=True)
            checked += sum(1 for _ in flag_values(name, toks, flags, "SGLang 0.5.2"))
assert checked >= 30, checked
PY

# The PD router: every flag in sglang-router 0.1.9's parser (tests/data/sglang-router-0.1.9-args.json);
# each prefill URL carries the bootstrap port the prefill workers listen on.
python3 - "$SRC/tests/data/sglang-router-0.1.9-args.json" "$T" <<'PY' || fail "emitted router vs sglang-router 0.1.9 parser"
import json, os, re, shlex, sys
import yaml
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1]))), "cli"))
from flagcheck import flag_values
spec = json.load(open(sys.argv[1]))
assert spec["stack"] == "sglang-router" and spec["version"] == "0.1.9"
flags, root = spec["flags"], sys.argv[2]
texts = {n: open(os.path.join(root, sub, n)).read()
         for sub, n in (("sglang", "sglang-router.sh"), ("slurm", "service.sbatch"), ("k8s", "lws-router.yaml"))}
prefill_args = open(os.path.join(root, "sglang", "sglang-prefill.sh")).read()
bootstrap = re.search(r"--disaggregation-bootstrap-port (\d+)", prefill_args).group(1)
for name, text in texts.items():
    assert "sglang-router 0.1.9" in text, name
    cmds = re.findall(r"python3 -m sglang_router\.launch_router (.*?)--port 8000", text, re.S)
    assert len(cmds) == 1, (name, cmds)
    toks = [t for t in shlex.split(cmds[0].replace("\\\n", " ")) if t != "${ROUTER_ARGS[@]}"]
    seen = {t for t, _, _ in flag_values(name, toks, flags, "sglang-router 0.1.9")}
    assert "--pd-disaggregation" in seen, (name, seen)
    for role in ("prefill", "decode"):
        adds = re.findall(r"ROUTER_ARGS\+=\((--%s .*?)\)" % role, text)
        assert len(adds) == 1, (name, role, adds)
        (flag, _, values), = flag_values(name, shlex.split(adds[0]), flags, "sglang-router 0.1.9")
        values = values if isinstance(values, list) else [values]
        assert values[0].startswith("http://$h:30000"), (name, values)
        if role == "prefill":
            assert values[1:] == [bootstrap], (name, values, bootstrap)
# Kubernetes: a Deployment and a Service; the hosts are the LeaderWorkerSets' leader pods.
docs = [d for d in yaml.safe_load_all(texts["lws-router.yaml"]) if d]
assert [d["kind"] for d in docs] == ["Deployment", "Service"], docs
script = docs[0]["spec"]["template"]["spec"]["containers"][0]["args"][0]
for role in ("prefill", "decode"):  # one leader pod per instance of the role, numbered from 0
    hosts = re.search(r'%s_HOSTS="([^"]*)"' % role.upper(), script).group(1).split()
    assert hosts == ["ridgeline-%s-%d.ridgeline-%s" % (role, i, role) for i in range(len(hosts))] and hosts, script
assert docs[1]["spec"]["ports"][0]["port"] == 8000
PY
bash -n "$T/sglang/sglang-router.sh" || fail "router script does not parse"
# The router script refuses to start without the worker addresses, naming the variable.
out=$(env -u PREFILL_HOSTS bash "$T/sglang/sglang-router.sh" 2>&1) && fail "router ran without PREFILL_HOSTS"
echo "$out" | grep -q "PREFILL_HOSTS" || fail "router error does not name PREFILL_HOSTS: $out"

bash -n "$T/slurm/service.sbatch" || fail "slurm script does not parse"
for f in "$T"/sglang/*.sh; do bash -n "$f" || fail "$f does not parse"; done
grep -c "^  srun " "$T/slurm/service.sbatch" | grep -q "^2$" || fail "one srun per role expected"
grep -q "^srun .*--overlap" "$T/slurm/service.sbatch" || fail "the router's srun (sharing the first node) is missing"
python3 - "$T/k8s" <<'PY' || fail "k8s manifests"
import os, sys
import yaml
for name in sorted(os.listdir(sys.argv[1])):
    if name == "lws-router.yaml":
        continue  # checked with the router's flags above
    docs = [d for d in yaml.safe_load_all(open(os.path.join(sys.argv[1], name))) if d]
    assert len(docs) == 1, name
    d = docs[0]
    assert d["apiVersion"] == "leaderworkerset.x-k8s.io/v1" and d["kind"] == "LeaderWorkerSet", d
    assert d["spec"]["replicas"] >= 1 and d["spec"]["leaderWorkerTemplate"]["size"] >= 1
    c = d["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    assert "sglang.launch_server" in c["args"][0]
PY

# AFD decode plans: stated plainly, no command.
"$BIN" plan --isl 4096 --ttft "2 s" --model deepseek-v3 --hardware h800 --strategy afd --gpus 64 --emit sglang \
  --emit-dir "$T/afd" >/dev/null
rc=$?
if [ $rc -eq 0 ] && grep -q "attention-FFN disaggregation" "$T/afd/sglang-decode.sh" 2>/dev/null; then
  grep -q "no launch command" "$T/afd/sglang-decode.sh" || fail "AFD note"
  ! grep -q "launch_server" "$T/afd/sglang-decode.sh" || fail "AFD decode must not emit an SGLang command"
fi
# vLLM: EP prefill + multi-node EP decode, and a TP prefill; each file names vLLM 0.11.0.
"$BIN" "${ARGS[@]}" --emit vllm --emit-dir "$T/vllm" >/dev/null || fail "--emit vllm exit $?"
"$BIN" plan --isl 4096 --osl 1024 --ttft "4 s" --slo "50 ms" --model deepseek-v3 --hardware h200 --strategy ep --gpus 64 \
  --prefill-parallel tp --emit vllm --emit-dir "$T/vllm-tp" >/dev/null || fail "--emit vllm (tp) exit $?"
for f in "$T/vllm/vllm-prefill.sh" "$T/vllm/vllm-decode.sh" "$T/vllm-tp/vllm-prefill.sh"; do
  grep -q "vLLM 0.11.0" "$f" || fail "$f does not name the stack version"
  bash -n "$f" || fail "$f does not parse"
done
grep -q -- "--headless" "$T/vllm/vllm-decode.sh" || fail "a 64-GPU decode instance needs headless follower nodes"
# vLLM under Slurm and in LeaderWorkerSets: the same workers, for the same two plans.
for kind in vllm-slurm vllm-k8s; do
  "$BIN" "${ARGS[@]}" --emit "$kind" --emit-dir "$T/$kind" >/dev/null || fail "--emit $kind exit $?"
  "$BIN" plan --isl 4096 --osl 1024 --ttft "4 s" --slo "50 ms" --model deepseek-v3 --hardware h200 --strategy ep \
    --gpus 64 --prefill-parallel tp --emit "$kind" --emit-dir "$T/$kind-tp" >/dev/null || fail "--emit $kind (tp) exit $?"
done
ls "$T/vllm-slurm/vllm-service.sbatch" "$T/vllm-k8s/vllm-lws-prefill.yaml" "$T/vllm-k8s/vllm-lws-decode.yaml" \
  >/dev/null || fail "missing emitted vLLM files: $(ls -R "$T")"
for f in "$T"/vllm-slurm*/* "$T"/vllm-k8s*/*; do
  grep -q "vLLM 0.11.0" "$f" || fail "$f does not name the stack version"
done
for f in "$T"/vllm-slurm*/*.sbatch; do
  bash -n "$f" || fail "$f does not parse"
  [ "$(grep -c "^  srun " "$f")" -eq 2 ] || fail "$f: one srun per role expected"
  grep -q "^#SBATCH --nodes=" "$f" || fail "$f: no node count"
done
# Mooncake: vLLM 0.11.0 registers no Mooncake connector, so it is refused (exit 2), not ignored.
out=$("$BIN" "${ARGS[@]}" --emit vllm --disaggregation-backend mooncake 2>&1)
[ $? -eq 2 ] || fail "--emit vllm --disaggregation-backend mooncake should exit 2"
echo "$out" | grep -q "ships no Mooncake KV connector" || fail "mooncake refusal message: $out"
"$BIN" "${ARGS[@]}" --emit vllm --disaggregation-backend nixl --emit-dir "$T/vllm-nixl" >/dev/null || fail "nixl"
cmp -s "$T/vllm-nixl/vllm-decode.sh" "$T/vllm/vllm-decode.sh" || fail "--disaggregation-backend nixl is vLLM's default"
python3 - "$SRC/tests/data/vllm-0.11.0-serve-args.json" "$T" <<'PY' || fail "emitted flags vs vLLM 0.11.0 parser"
import json, os, re, shlex, subprocess, sys, tempfile
import yaml
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1]))), "cli"))
from flagcheck import flag_values
spec = json.load(open(sys.argv[1]))
assert spec["stack"] == "vllm" and spec["version"] == "0.11.0"
flags = spec["flags"]
root = sys.argv[2]
checked, seen = 0, set()


def workers(sub, name):
    """(role, shell text) of each worker in an emitted file: a script is one; a batch script holds
    one here-document per role; a LeaderWorkerSet runs its container's `bash -c` text."""
    text = open(os.path.join(root, sub, name)).read()
    if name.endswith(".sbatch"):
        found = re.findall(r"^(PREFILL|DECODE)_WORKER=\$\(cat <<'RIDGELINE_WORKER'\n(.*?)^RIDGELINE_WORKER$", text,
                           re.S | re.M)
        assert found, name
        return [(role.lower(), body) for role, body in found]
    if name.endswith(".yaml"):
        docs = [d for d in yaml.safe_load_all(text) if d]
        if not docs:  # an AFD decode pool: a note only
            return []
        assert len(docs) == 1, name
        d = docs[0]
        assert d["apiVersion"] == "leaderworkerset.x-k8s.io/v1" and d["kind"] == "LeaderWorkerSet", d
        lwt = d["spec"]["leaderWorkerTemplate"]
        assert d["spec"]["replicas"] >= 1 and lwt["size"] >= 1
        out = []
        for template in ("leaderTemplate", "workerTemplate"):
            pod = lwt[template]["spec"]
            c = pod["containers"][0]
            assert c["image"] == "vllm/vllm-openai:v0.11.0" and c["command"] == ["bash", "-c"], c
            assert {"name": "dshm", "mountPath": "/dev/shm"} in c["volumeMounts"], c
            assert {"name": "VLLM_NIXL_SIDE_CHANNEL_HOST",
                    "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in c["env"], c
            assert pod["volumes"][0]["emptyDir"]["medium"] == "Memory", pod
            assert int(c["resources"]["limits"]["nvidia.com/gpu"]) >= 1
            out.append(("prefill" if "prefill" in name else "decode", c["args"][0]))
        assert out[0][1] == out[1][1], name  # leader and workers branch on LWS_WORKER_INDEX
        return out
    return [("prefill" if "prefill" in name else "decode", text)]


for sub in ("vllm", "vllm-tp", "vllm-slurm", "vllm-slurm-tp", "vllm-k8s", "vllm-k8s-tp"):
    for name in os.listdir(os.path.join(root, sub)):
        for role, text in workers(sub, name):
            with tempfile.NamedTemporaryFile("w", suffix=".sh") as f:
                f.write(text)
                f.flush()
                subprocess.run(["bash", "-n", f.name], check=True)
            envs = re.findall(r"^export (VLLM_\w+)=(.*)$", text, re.M)
            for env, value in envs:
                assert env in spec["env_types"], (name, env, "not a vLLM 0.11.0 variable")
                if env in spec["env_choices"]:
                    assert value in spec["env_choices"][env], (name, env, value)
            # NixlConnector hands this address to the other pool; its default is localhost.
            assert ("VLLM_NIXL_SIDE_CHANNEL_HOST", '"${VLLM_NIXL_SIDE_CHANNEL_HOST:-$(hostname -I | awk \'{print $1}\')}"') \
                in envs, (name, envs)
            cmds = re.findall(r"vllm serve (.*?)--port 8000", text, re.S)
            assert cmds, name
            for cmd in cmds:
                toks = shlex.split(cmd.replace("\\\n", " "), posix=True)
                assert toks[0] == "$MODEL_PATH", toks  # the positional model_tag
                for t, f, v in flag_values(name, toks[1:], flags, "vLLM 0.11.0 serve"):
                    assert not f.get("deprecated"), (name, t, "deprecated in 0.11.0")
                    seen.add(t)
                    checked += 1
                    if f["type"] == "json":
                        obj = json.loads(v)
                        for key, val in obj.items():
                            fields = f["fields"]
                            assert key in fields, f"{name}: {t} has no key {key}"
                            if "choices" in fields[key]:
                                assert str(val) in fields[key]["choices"], (name, t, key, val)
                            if fields[key]["type"] == "int":
                                assert isinstance(val, int), (name, t, key, val)
                        if t == "--kv-transfer-config":
                            assert obj["kv_connector"] in spec["kv_connectors"], obj
                            assert obj["kv_role"] == ("kv_producer" if role == "prefill" else "kv_consumer"), (name, obj)
want = {"--tensor-parallel-size", "--data-parallel-size", "--enable-expert-parallel", "--max-num-seqs",
        "--kv-transfer-config", "--data-parallel-size-local", "--data-parallel-address", "--headless"}
assert want <= seen, want - seen
assert checked >= 30, checked
PY
"$BIN" plan --isl 4096 --ttft "2 s" --model deepseek-v3 --hardware h800 --strategy afd --gpus 64 --emit vllm \
  --emit-dir "$T/afd-vllm" >/dev/null
rc=$?
if [ $rc -eq 0 ] && [ -f "$T/afd-vllm/vllm-decode.sh" ]; then
  grep -q "vLLM has no AFD" "$T/afd-vllm/vllm-decode.sh" || fail "AFD note (vllm)"
  ! grep -q "exec vllm serve" "$T/afd-vllm/vllm-decode.sh" || fail "AFD decode must not emit a vLLM command"
  grep -q "exec vllm serve" "$T/afd-vllm/vllm-prefill.sh" || fail "the AFD plan's prefill pool still gets a command"
fi
for kind in vllm-slurm vllm-k8s; do
  "$BIN" plan --isl 4096 --ttft "2 s" --model deepseek-v3 --hardware h800 --strategy afd --gpus 64 --emit "$kind" \
    --emit-dir "$T/afd-$kind" >/dev/null
  [ $? -eq 0 ] || continue
  f=$(ls "$T/afd-$kind"/vllm-service.sbatch "$T/afd-$kind"/vllm-lws-decode.yaml 2>/dev/null)
  grep -q "vLLM has no AFD" $f || fail "AFD note ($kind)"
  if [ "$kind" = vllm-k8s ]; then
    ! grep -q "exec vllm serve" "$T/afd-$kind/vllm-lws-decode.yaml" || fail "AFD decode pod must not run vLLM"
  else
    ! grep -q "DECODE_WORKER=" "$T/afd-$kind/vllm-service.sbatch" || fail "AFD decode must not get a worker"
  fi
done
if [ -f "$T/afd-vllm-slurm/vllm-service.sbatch" ]; then
  [ "$(grep -c "^  srun " "$T/afd-vllm-slurm/vllm-service.sbatch")" -eq 1 ] || fail "AFD: only prefill gets an srun"
  bash -n "$T/afd-vllm-slurm/vllm-service.sbatch" || fail "AFD slurm script does not parse"
fi
"$BIN" "${ARGS[@]}" --emit trtllm >/dev/null 2>&1
[ $? -eq 2 ] || fail "--emit trtllm should be refused with exit 2"
echo "ok"
