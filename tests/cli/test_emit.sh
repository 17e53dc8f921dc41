#!/usr/bin/env bash
# `plan --isl ... --emit sglang|slurm|k8s`: every flag of the emitted SGLang commands exists in
# SGLang 0.5.2's argument parser (tests/data/sglang-0.5.2-server-args.json, extracted offline)
# with a value of the right type; the Slurm script passes `bash -n`; the k8s manifests parse as
# YAML with the expected kinds; each file names the stack version.
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
"$BIN" "${ARGS[@]}" --emit vllm >/dev/null 2>&1
[ $? -eq 2 ] || fail "--emit vllm should be refused with exit 2"
echo "ok"
