// SPDX-License-Identifier: Apache-2.0
// `plan --isl ... --emit sglang|slurm|k8s|vllm`: launch material for a service plan's prefill
// and decode pools. sglang / slurm / k8s are written for SGLang 0.5.2 (every flag is in
// sglang/srt/server_args.py of that release; tests/data/sglang-0.5.2-server-args.json is the
// extracted list the tests check); vllm for vLLM 0.11.0 (every flag is in `vllm serve`'s parser,
// vllm/engine/arg_utils.py + vllm/entrypoints/openai/cli_args.py of that release;
// tests/data/vllm-0.11.0-serve-args.json).
#include "present/emit_service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "present/checks.hpp"
#include "report/report.hpp"

namespace ridgeline::present {

namespace {

constexpr const char* kSglangVersion = "0.5.2";
constexpr const char* kVllmVersion = "0.11.0";

/// "deepseek-ai/DeepSeek-V3" from the model file's Hugging Face source, else the model id.
std::string hf_repo(const ModelSpec& m) {
  for (const auto& s : m.sources) {
    const std::string key = "huggingface.co/";
    const auto at = s.find(key);
    if (at == std::string::npos) continue;
    const std::string rest = s.substr(at + key.size());
    const auto a = rest.find('/');
    if (a == std::string::npos) continue;
    const auto b = rest.find('/', a + 1);
    return rest.substr(0, b);
  }
  return m.id;
}

struct Role {
  std::string name;  ///< prefill | decode
  int instances = 0;
  int gpus = 0;  ///< per instance
  int gpus_per_node = 8;
  std::vector<std::string> args;  ///< SGLang flags (without the multi-node ones)
  std::string note;               ///< when no command can be given
  int nodes() const { return (gpus + gpus_per_node - 1) / gpus_per_node; }
  int gpus_on_node() const { return std::min(gpus, gpus_per_node); }
};

std::vector<Role> roles_of(const ServicePlan& sp, const std::string& transfer_backend) {
  std::vector<Role> out;
  const PrefillDeployment& pd = sp.prefill.deployment;
  Role p;
  p.name = "prefill";
  p.instances = sp.prefill_instances;
  p.gpus = pd.gpus;
  p.gpus_per_node = std::max(1, pd.hw->gpus_per_node);
  p.args = {"--disaggregation-mode prefill", "--disaggregation-transfer-backend " + transfer_backend,
            fmt::format("--tp-size {}", pd.gpus)};
  if (pd.parallel == PrefillParallel::ep) {
    // SGLang's chunked-prefill-size counts the tokens of all DP ranks of the instance.
    p.args.insert(p.args.end(),
                  {fmt::format("--dp-size {}", pd.gpus), "--enable-dp-attention", fmt::format("--ep-size {}", pd.gpus),
                   "--moe-a2a-backend deepep", "--deepep-mode normal",
                   fmt::format("--chunked-prefill-size {:.0f}", pd.chunk_tokens * pd.gpus)});
    if (pd.micro_batches == 2) p.args.push_back("--enable-two-batch-overlap");
    if (pd.redundant_experts > 0) p.args.push_back(fmt::format("--ep-num-redundant-experts {}", pd.redundant_experts));
  } else {
    p.args.push_back(fmt::format("--chunked-prefill-size {:.0f}", pd.chunk_tokens));
  }
  p.args.push_back(fmt::format("--max-running-requests {:.0f}", std::max(1.0, sp.prefill.evaluation.request_slots)));
  out.push_back(p);

  const Deployment& d = sp.decode.deployment;
  Role r;
  r.name = "decode";
  r.instances = sp.decode_instances;
  r.gpus = d.total_gpus();
  r.gpus_per_node = std::max(1, d.attention.hw->gpus_per_node);
  if (d.strategy == Strategy::afd) {
    r.note =
        "The decode plan is attention-FFN disaggregation (AFD). As of SGLang 0.5.2 (and vLLM mainline) no release "
        "exposes AFD; no launch command is emitted for this role. Re-plan with --strategy ep for a runnable decode "
        "pool.";
  } else {
    const double batch = d.batch_per_gpu;
    r.args = {"--disaggregation-mode decode",
              "--disaggregation-transfer-backend " + transfer_backend,
              fmt::format("--tp-size {}", r.gpus),
              fmt::format("--dp-size {}", r.gpus),
              "--enable-dp-attention",
              fmt::format("--ep-size {}", r.gpus),
              "--moe-a2a-backend deepep",
              fmt::format("--deepep-mode {}", d.dispatch_style == DispatchStyle::normal ? "normal" : "low_latency"),
              fmt::format("--cuda-graph-max-bs {:.0f}", batch),
              fmt::format("--max-running-requests {:.0f}", batch * r.gpus)};
    if (d.micro_batches == 2) r.args.push_back("--enable-two-batch-overlap");
    if (d.redundant_experts > 0) r.args.push_back(fmt::format("--ep-num-redundant-experts {}", d.redundant_experts));
  }
  out.push_back(r);
  return out;
}

std::string header(const char* comment, const std::string& what, const ServicePlan& sp, const ModelSpec& m) {
  return fmt::format(
      "{c} {} written by ridgeline {} for SGLang {} (flags checked against sglang/srt/server_args.py of that "
      "release).\n"
      "{c} Model {}: prefill {} x {} GPUs ({}), decode {} x {} GPUs; {:.2f} requests/s, TTFT {:.0f} ms, TPOT {:.1f} "
      "ms (predicted).\n"
      "{c} A PD router (sglang_router / mini_lb) in front of both pools is not emitted.\n",
      what, report::kVersion, kSglangVersion, m.id, sp.prefill_instances, sp.prefill.deployment.gpus,
      sp.prefill.deployment.hw->id, sp.decode_instances, sp.decode.evaluation.total_gpus, sp.rate_per_s,
      sp.ttft_s * 1e3, sp.tpot_s * 1e3, fmt::arg("c", comment));
}

std::string command(const Role& r, const std::string& rank_expr, const std::string& leader_expr) {
  std::string s = "python3 -m sglang.launch_server --model-path \"$MODEL_PATH\" --trust-remote-code";
  for (const auto& a : r.args) s += " \\\n    " + a;
  if (r.nodes() > 1)
    s += fmt::format(" \\\n    --nnodes {} --node-rank {} --dist-init-addr {}:5757", r.nodes(), rank_expr, leader_expr);
  s += " \\\n    --host 0.0.0.0 --port 30000";
  return s;
}

std::string sglang_script(const Role& r, const ServicePlan& sp, const ModelSpec& m) {
  std::string s = "#!/usr/bin/env bash\n" + header("#", "SGLang " + r.name + " worker", sp, m);
  s += fmt::format("# Run on each of the {} node(s) of every {} instance ({} instance(s) of {} GPUs).\n", r.nodes(),
                   r.name, r.instances, r.gpus);
  if (!r.note.empty()) return s + "# " + r.note + "\nexit 1\n";
  s += "set -euo pipefail\n";
  s += fmt::format("MODEL_PATH=\"${{MODEL_PATH:-{}}}\"\n", hf_repo(m));
  if (r.nodes() > 1)
    s += "NODE_RANK=\"${NODE_RANK:?set NODE_RANK (0..)}\"\nLEADER=\"${LEADER:?set LEADER (the address of node 0)}\"\n";
  s += "exec " + command(r, "\"$NODE_RANK\"", "\"$LEADER\"") + "\n";
  return s;
}

std::string slurm_script(const std::vector<Role>& roles, const ServicePlan& sp, const ModelSpec& m) {
  int nodes = 0;
  for (const auto& r : roles)
    if (r.note.empty()) nodes += r.nodes() * r.instances;
  const int gpn = roles.front().gpus_per_node;
  std::string s = "#!/usr/bin/env bash\n";
  s += fmt::format("#SBATCH --job-name=ridgeline-{}\n#SBATCH --nodes={}\n#SBATCH --ntasks-per-node=1\n", m.id,
                   std::max(1, nodes));
  s += fmt::format("#SBATCH --gpus-per-node={}\n#SBATCH --exclusive\n", gpn);
  s += header("#", "Slurm batch script", sp, m);
  s += "set -euo pipefail\n";
  s += fmt::format("export MODEL_PATH=\"${{MODEL_PATH:-{}}}\"\n", hf_repo(m));
  s += "mapfile -t NODES < <(scontrol show hostnames \"$SLURM_JOB_NODELIST\")\nNEXT=0\n";
  for (const auto& r : roles) {
    if (!r.note.empty()) {
      s += "# " + r.name + ": " + r.note + "\n";
      continue;
    }
    s += fmt::format("# {}: {} instance(s) of {} node(s)\n", r.name, r.instances, r.nodes());
    s += fmt::format("for i in $(seq 0 {}); do\n", r.instances - 1);
    s += fmt::format("  HOSTS=$(IFS=,; echo \"${{NODES[*]:$NEXT:{}}}\")\n", r.nodes());
    s += "  LEADER=${NODES[$NEXT]}\n";
    s += fmt::format("  srun --nodes={} --ntasks={} --nodelist=\"$HOSTS\" --export=ALL,LEADER=\"$LEADER\" \\\n",
                     r.nodes(), r.nodes());
    s += "    bash -c '" + command(r, "$SLURM_NODEID", "$LEADER") + "' &\n";
    s += fmt::format("  NEXT=$((NEXT + {}))\ndone\n", r.nodes());
  }
  s += "wait\n";
  return s;
}

std::string k8s_manifest(const Role& r, const ServicePlan& sp, const ModelSpec& m) {
  std::string s = header("#", "Kubernetes LeaderWorkerSet (" + r.name + ")", sp, m);
  if (!r.note.empty()) return s + "# " + r.note + "\n";
  std::string cmd = command(r, "$(LWS_WORKER_INDEX)", "$(LWS_LEADER_ADDRESS)");
  std::string indented;
  for (char c : cmd) indented += c == '\n' ? std::string("\n                ") : std::string(1, c);
  auto pod = [&](const char* role) {
    return fmt::format(
        "      metadata:\n        labels:\n          app: ridgeline-{name}\n          role: {role}\n"
        "      spec:\n        containers:\n          - name: sglang\n            image: lmsysorg/sglang:v{ver}\n"
        "            env:\n              - name: MODEL_PATH\n                value: \"{repo}\"\n"
        "            command: [\"bash\", \"-c\"]\n            args:\n              - |\n                {cmd}\n"
        "            resources:\n              limits:\n                nvidia.com/gpu: \"{g}\"\n"
        "            ports:\n              - containerPort: 30000\n",
        fmt::arg("name", r.name), fmt::arg("role", role), fmt::arg("ver", kSglangVersion), fmt::arg("repo", hf_repo(m)),
        fmt::arg("cmd", indented), fmt::arg("g", r.gpus_on_node()));
  };
  s += fmt::format(
      "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata:\n  name: ridgeline-{}\nspec:\n"
      "  replicas: {}\n  leaderWorkerTemplate:\n    size: {}\n    leaderTemplate:\n{}    workerTemplate:\n{}",
      r.name, r.instances, r.nodes(), pod("leader"), pod("worker"));
  return s;
}

// --- vLLM 0.11.0 ----------------------------------------------------------------------------

/// One role's `vllm serve` worker. vLLM runs one engine per data-parallel rank; --max-num-seqs and
/// --max-num-batched-tokens are per engine. EP size = TP x DP (--enable-expert-parallel).
struct VllmRole {
  std::string name;  ///< prefill | decode
  int instances = 0;
  int gpus = 0;  ///< per instance
  int gpus_per_node = 8;
  int tp = 1, dp = 1;
  std::string all2all;            ///< VLLM_ALL2ALL_BACKEND (vllm/envs.py), empty without EP
  std::vector<std::string> args;  ///< flags other than the parallel sizes and the multi-node ones
  std::string note;               ///< when no command can be given
  std::vector<std::string> remarks;
  int nodes() const { return (gpus + gpus_per_node - 1) / gpus_per_node; }
  /// DP ranks on one node; 0 when one TP group spans nodes (then Ray places the workers).
  int dp_local() const { return tp <= gpus_per_node && gpus_per_node % tp == 0 ? gpus_per_node / tp : 0; }
};

std::string kv_transfer_config(const char* role) {
  // NixlConnector is vLLM 0.11.0's RDMA (UCX) KV transfer; it reads the role of each request from
  // the proxy's kv_transfer_params, so kv_role documents the worker's side.
  return fmt::format("--kv-transfer-config '{{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"{}\"}}'", role);
}

std::string eplb_args(int redundant) {
  return fmt::format("--enable-eplb --eplb-config '{{\"num_redundant_experts\":{}}}'", redundant);
}

std::vector<VllmRole> vllm_roles(const ServicePlan& sp) {
  std::vector<VllmRole> out;
  const PrefillDeployment& pd = sp.prefill.deployment;
  VllmRole p;
  p.name = "prefill";
  p.instances = sp.prefill_instances;
  p.gpus = pd.gpus;
  p.gpus_per_node = std::max(1, pd.hw->gpus_per_node);
  if (pd.parallel == PrefillParallel::ep) {
    p.dp = pd.gpus;
    p.all2all = "deepep_high_throughput";  // DeepEP normal kernels, as the plan's prefill dispatch
    if (pd.micro_batches == 2) p.args.push_back("--enable-dbo");
    if (pd.redundant_experts > 0) p.args.push_back(eplb_args(pd.redundant_experts));
  } else {
    p.tp = pd.gpus;
  }
  const double slots = std::max(1.0, sp.prefill.evaluation.request_slots);
  p.args.push_back(fmt::format("--max-num-seqs {:.0f}", std::max(1.0, std::ceil(slots / p.dp))));
  p.args.push_back(fmt::format("--max-num-batched-tokens {:.0f}", pd.chunk_tokens));
  p.args.push_back(kv_transfer_config("kv_producer"));
  out.push_back(p);

  const Deployment& d = sp.decode.deployment;
  VllmRole r;
  r.name = "decode";
  r.instances = sp.decode_instances;
  r.gpus = d.total_gpus();
  r.gpus_per_node = std::max(1, d.attention.hw->gpus_per_node);
  if (d.strategy == Strategy::afd) {
    r.note =
        "The decode plan is attention-FFN disaggregation (AFD). vLLM has no AFD: release 0.11.0 has no flag or mode "
        "that runs attention and the experts on separate GPUs; no launch command is emitted for this role. Re-plan "
        "with --strategy ep for a runnable decode pool.";
  } else {
    const bool pure_tp = d.attention.tp == r.gpus && r.gpus > 1;
    r.tp = std::max(1, d.attention.tp);
    r.dp = std::max(1, r.gpus / r.tp);
    if (!pure_tp) {
      r.all2all = d.dispatch_style == DispatchStyle::normal ? "deepep_high_throughput" : "deepep_low_latency";
      if (d.ffn.tp > 1)
        r.remarks.push_back(fmt::format(
            "The plan splits each expert {} ways (expert TP); vLLM {} spreads whole experts over TP x DP = {} GPUs.",
            d.ffn.tp, kVllmVersion, r.gpus));
    }
    const double seqs = std::max(1.0, std::round(d.batch_per_gpu * r.tp));  // per DP engine
    if (d.micro_batches == 2) r.args.push_back("--enable-dbo");
    if (d.redundant_experts > 0) r.args.push_back(eplb_args(d.redundant_experts));
    r.args.push_back(fmt::format("--max-num-seqs {:.0f}", seqs));
    r.args.push_back(fmt::format("--cuda-graph-sizes {:.0f}", seqs));
    r.args.push_back(kv_transfer_config("kv_consumer"));
  }
  out.push_back(r);
  return out;
}

std::string vllm_command(const VllmRole& r, const std::vector<std::string>& extra) {
  std::string s = "vllm serve \"$MODEL_PATH\" --trust-remote-code";
  s += fmt::format(" \\\n    --tensor-parallel-size {} --data-parallel-size {}", r.tp, r.dp);
  if (!r.all2all.empty()) s += " --enable-expert-parallel";
  for (const auto& a : r.args) s += " \\\n    " + a;
  for (const auto& a : extra) s += " \\\n    " + a;
  s += " \\\n    --host 0.0.0.0 --port 8000";
  return s;
}

std::string vllm_script(const VllmRole& r, const ServicePlan& sp, const ModelSpec& m) {
  std::string s = "#!/usr/bin/env bash\n";
  s += fmt::format(
      "# vLLM {} worker written by ridgeline {} for vLLM {} (flags checked against `vllm serve`'s parser: "
      "vllm/engine/arg_utils.py and vllm/entrypoints/openai/cli_args.py of that release).\n"
      "# Model {}: prefill {} x {} GPUs ({}), decode {} x {} GPUs; {:.2f} requests/s, TTFT {:.0f} ms, TPOT {:.1f} "
      "ms (predicted).\n"
      "# KV cache moves by vLLM's NixlConnector. A proxy in front of both pools (it sends each request to a "
      "prefill worker, then to a decode worker with the kv_transfer_params) is not emitted.\n",
      r.name, report::kVersion, kVllmVersion, m.id, sp.prefill_instances, sp.prefill.deployment.gpus,
      sp.prefill.deployment.hw->id, sp.decode_instances, sp.decode.evaluation.total_gpus, sp.rate_per_s,
      sp.ttft_s * 1e3, sp.tpot_s * 1e3);
  const bool ray = r.nodes() > 1 && r.dp_local() == 0;
  if (ray)
    s += fmt::format(
        "# One TP group of {} GPUs spans {} nodes: start a Ray cluster over the instance's nodes and "
        "run this on its head node only.\n",
        r.tp, r.nodes());
  else
    s += fmt::format("# Run on each of the {} node(s) of every {} instance ({} instance(s) of {} GPUs).\n", r.nodes(),
                     r.name, r.instances, r.gpus);
  for (const auto& remark : r.remarks) s += "# " + remark + "\n";
  if (!r.note.empty()) return s + "# " + r.note + "\nexit 1\n";
  s += "set -euo pipefail\n";
  s += fmt::format("MODEL_PATH=\"${{MODEL_PATH:-{}}}\"\n", hf_repo(m));
  if (!r.all2all.empty()) s += "export VLLM_ALL2ALL_BACKEND=" + r.all2all + "\n";
  if (ray) return s + "exec " + vllm_command(r, {"--distributed-executor-backend ray"}) + "\n";
  if (r.nodes() <= 1) return s + "exec " + vllm_command(r, {}) + "\n";
  // Multi-node data parallel: node 0 serves the API, the others run their DP ranks headless.
  const int local = r.dp_local();
  s += "NODE_RANK=\"${NODE_RANK:?set NODE_RANK (0..)}\"\nLEADER=\"${LEADER:?set LEADER (the address of node 0)}\"\n";
  const std::vector<std::string> common = {fmt::format("--data-parallel-size-local {}", local),
                                           "--data-parallel-address \"$LEADER\""};
  std::vector<std::string> follower = common;
  follower.push_back(fmt::format("--data-parallel-start-rank \"$((NODE_RANK * {}))\" --headless", local));
  s += "if [ \"$NODE_RANK\" -eq 0 ]; then\n  exec " + vllm_command(r, common) + "\nfi\n";
  s += "exec " + vllm_command(r, follower) + "\n";
  return s;
}

}  // namespace

void check_emit_kind(const std::string& kind, const std::string& transfer_backend) {
  auto member = [](const char* flag, const std::string& v, const std::vector<std::string>& set) {
    if (std::find(set.begin(), set.end(), v) != set.end()) return;
    std::string all;
    for (const auto& s : set) all += (all.empty() ? "" : ",") + s;
    throw FlagError(fmt::format("{}: {} not in {{{}}}", flag, v, all));
  };
  member("--emit", kind, kEmitKinds);
  member("--disaggregation-backend", transfer_backend, kDisaggregationBackends);
}

std::vector<EmittedFile> emit_service(const std::string& kind, const ServicePlan& sp, const ModelSpec& m,
                                      const std::string& transfer_backend) {
  check_emit_kind(kind, transfer_backend);
  std::vector<EmittedFile> out;
  if (kind == "vllm") {
    for (const auto& r : vllm_roles(sp)) out.push_back({"vllm-" + r.name + ".sh", vllm_script(r, sp, m)});
    return out;
  }
  const auto roles = roles_of(sp, transfer_backend);
  if (kind == "sglang") {
    for (const auto& r : roles) out.push_back({"sglang-" + r.name + ".sh", sglang_script(r, sp, m)});
  } else if (kind == "slurm") {
    out.push_back({"service.sbatch", slurm_script(roles, sp, m)});
  } else if (kind == "k8s") {
    for (const auto& r : roles) out.push_back({"lws-" + r.name + ".yaml", k8s_manifest(r, sp, m)});
  }
  return out;
}

}  // namespace ridgeline::present
