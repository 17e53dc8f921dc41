#!/usr/bin/env bash
# `plan --isl ... --emit sglang|slurm|k8s|vllm`: every flag of the emitted SGLang commands exists in
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
ls "$T/sglang/sglang-prefill.sh" "$T/sglang/sglang-decode.sh" "$T/slurm/service.sbatch" "$T/k8s/lws-prefill.yaml" \
  "$T/k8s/lws-decode.yaml" >/dev/null || fail "missing emitted files: $(ls -R "$T")"
for f in "$T"/*/*; do
  grep -q "SGLang 0.5.2" "$f" || fail "$f does not name the stack version"
done

python3 - "$SRC/tests/data/sglang-0.5.2-server-args.json" "$T" <<'PY' || fail "emitted flags vs SGLang 0.5.2 parser"
import json, os, re, shlex, sys
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
            i = 0
            while i < len(toks):
                t = toks[i]
                assert t.startswith("--"), (name, t, toks)
                assert t in flags, f"{name}: {t} is not an SGLang 0.5.2 flag"
                f = flags[t]
                if f["type"] == "bool":
                    i += 1
                    checked += 1
                    continue
                v = toks[i + 1]
                assert not v.startswith("--"), (name, t, "needs a value")
                dynamic = v.startswith("$")
                if f["type"] == "int" and not dynamic:
                    int(v)
                if f["type"] == "float" and not dynamic:
                    float(v)
                if "choices" in f and not dynamic:
                    assert v in f["choices"], (name, t, v, f["choices"])
                i += 2
                checked += 1
assert checked >= 30, checked
PY

bash -n "$T/slurm/service.sbatch" || fail "slurm script does not parse"
for f in "$T"/sglang/*.sh; do bash -n "$f" || fail "$f does not parse"; done
grep -c "srun " "$T/slurm/service.sbatch" | grep -q "^2$" || fail "one srun per role expected"
python3 - "$T/k8s" <<'PY' || fail "k8s manifests"
import os, sys
import yaml
for name in sorted(os.listdir(sys.argv[1])):
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
python3 - "$SRC/tests/data/vllm-0.11.0-serve-args.json" "$T" <<'PY' || fail "emitted flags vs vLLM 0.11.0 parser"
import json, os, re, shlex, sys
spec = json.load(open(sys.argv[1]))
assert spec["stack"] == "vllm" and spec["version"] == "0.11.0"
flags = spec["flags"]
root = sys.argv[2]
checked, seen = 0, set()
for sub in ("vllm", "vllm-tp"):
    for name in os.listdir(os.path.join(root, sub)):
        text = open(os.path.join(root, sub, name)).read()
        for env, value in re.findall(r"^export (VLLM_\w+)=(\S+)$", text, re.M):
            assert value in spec["env_choices"][env], (name, env, value)
        cmds = re.findall(r"vllm serve (.*?)--port 8000", text, re.S)
        assert cmds, name
        for cmd in cmds:
            toks = shlex.split(cmd.replace("\\\n", " "), posix=True)
            assert toks[0] == "$MODEL_PATH", toks  # the positional model_tag
            i = 1
            while i < len(toks):
                t = toks[i]
                assert t.startswith("--"), (name, t, toks)
                assert t in flags, f"{name}: {t} is not a vLLM 0.11.0 serve flag"
                f = flags[t]
                assert not f.get("deprecated"), (name, t, "deprecated in 0.11.0")
                seen.add(t)
                checked += 1
                if f["type"] == "bool":
                    i += 1
                    continue
                v = toks[i + 1]
                assert not v.startswith("--"), (name, t, "needs a value")
                dynamic = v.startswith("$")
                if f["type"] == "int" and not dynamic:
                    int(v)
                if f["type"] == "float" and not dynamic:
                    float(v)
                if "choices" in f and not dynamic:
                    assert v in f["choices"], (name, t, v, f["choices"])
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
                        assert obj["kv_role"] == ("kv_producer" if "prefill" in name else "kv_consumer"), obj
                i += 2
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
"$BIN" "${ARGS[@]}" --emit trtllm >/dev/null 2>&1
[ $? -eq 2 ] || fail "--emit trtllm should be refused with exit 2"
echo "ok"
