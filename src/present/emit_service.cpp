// SPDX-License-Identifier: Apache-2.0
// `plan --isl ... --emit sglang|slurm|k8s|vllm|vllm-slurm|vllm-k8s`: launch material for a
// service plan's prefill and decode pools. sglang / slurm / k8s are written for SGLang 0.5.2
// (every flag is in sglang/srt/server_args.py of that release; tests/data/sglang-0.5.2-server-args.json
// is the extracted list the tests check); vllm / vllm-slurm / vllm-k8s for vLLM 0.11.0 (every flag
// is in `vllm serve`'s parser, vllm/engine/arg_utils.py + vllm/entrypoints/openai/cli_args.py of
// that release; tests/data/vllm-0.11.0-serve-args.json).
#include "present/emit_service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "present/checks.hpp"
#include "report/report.hpp"

namespace ridgeline::present {

namespace {

constexpr const char* kSglangVersion = "0.5.2";
// The PD router release current when SGLang 0.5.2 came out (PyPI: sglang-router 0.1.9, Aug. 2025;
// SGLang 0.5.2, Sept. 2025); flags from its sglang_router/launch_router.py.
constexpr const char* kSglangRouterVersion = "0.1.9";
// --disaggregation-bootstrap-port's default in SGLang 0.5.2. The router needs it spelled out:
// a --prefill URL without a port means "no bootstrap server" to sglang-router 0.1.9.
constexpr int kBootstrapPort = 8998;
// Launch-time allowance, not a model number: loading ~700 GB of weights over many nodes and
// capturing CUDA graphs outlasts the router's 300 s default wait for its workers.
constexpr int kRouterStartupTimeoutS = 1800;
constexpr const char* kVllmVersion = "0.11.0";
// The KV connectors vllm/distributed/kv_transfer/kv_connector/factory.py of the vLLM 0.11.0 sdist
// registers (PyPI vllm-0.11.0.tar.gz); none moves KV cache over Mooncake.
constexpr const char* kVllm0110Connectors =
    "SharedStorageConnector, P2pNcclConnector, LMCacheConnectorV1, NixlConnector, MultiConnector, "
    "OffloadingConnector";

bool is_vllm(const std::string& kind) {
  return kind.rfind("vllm", 0) == 0;
}

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

/// "PREFILL_HOSTS" from ("prefill", "_HOSTS"): a role's shell variable name.
std::string shell_var(const std::string& role, const char* suffix) {
  std::string v = role + suffix;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return v;
}

/// `text` with every line after the first indented by `spaces` (a YAML block scalar's body).
std::string indent_lines(const std::string& text, int spaces) {
  const std::string nl = "\n" + std::string(spaces, ' ');
  std::string out;
  for (char c : text) out += c == '\n' ? nl : std::string(1, c);
  return out;
}

/// One role (prefill or decode) of a launch, whatever the stack.
struct Role {
  std::string name;  ///< prefill | decode
  int instances = 0;
  int gpus = 0;  ///< per instance
  int gpus_per_node = 8;
  std::vector<std::string> args;     ///< the stack's flags (without the multi-node ones)
  std::string note;                  ///< when no command can be given
  std::vector<std::string> remarks;  ///< comment lines for the reader of the script
  int nodes() const { return (gpus + gpus_per_node - 1) / gpus_per_node; }
  int gpus_on_node() const { return std::min(gpus, gpus_per_node); }
};

/// A role named `name` sized like `pool`.
template <class R>
R role_for(const char* name, const LaunchPool& pool) {
  R r;
  r.name = name;
  r.instances = pool.instances;
  r.gpus = pool.gpus;
  r.gpus_per_node = pool.gpus_per_node;
  return r;
}

const char* kAfdNoteSglang =
    "The decode plan is attention-FFN disaggregation (AFD). As of SGLang 0.5.2 (and vLLM mainline) no release "
    "exposes AFD; no launch command is emitted for this role. Re-plan with --strategy ep for a runnable decode "
    "pool.";
const char* kAfdNoteVllm =
    "The decode plan is attention-FFN disaggregation (AFD). vLLM has no AFD: release 0.11.0 has no flag or mode "
    "that runs attention and the experts on separate GPUs; no launch command is emitted for this role. Re-plan "
    "with --strategy ep for a runnable decode pool.";

/// `--ep-num-redundant-experts` for an SGLang EP role of `ep` ranks, raised where the plan's count
/// does not divide (launchable_redundant_experts), with a remark saying so.
void add_sglang_redundant_experts(Role& role, const LaunchPlan& lp, int planned, int ep) {
  const int launch = launchable_redundant_experts(lp.routed_experts, planned, ep);
  if (launch > 0) role.args.push_back(fmt::format("--ep-num-redundant-experts {}", launch));
  if (launch != planned)
    role.remarks.push_back(fmt::format(
        "{} redundant experts instead of the plan's {}: SGLang needs the {} + redundant experts to divide over "
        "--ep-size {}; the plan already prices {} experts on the fullest rank, so the replicas fill those slots.",
        launch, planned, lp.routed_experts, ep, (lp.routed_experts + launch) / ep));
}

std::vector<Role> roles_of(const LaunchPlan& lp, const std::string& transfer_backend) {
  std::vector<Role> out;
  const LaunchPool& pd = lp.prefill;
  Role p = role_for<Role>("prefill", pd);
  p.args = {"--disaggregation-mode prefill", "--disaggregation-transfer-backend " + transfer_backend,
            fmt::format("--disaggregation-bootstrap-port {}", kBootstrapPort), fmt::format("--tp-size {}", pd.gpus)};
  if (lp.prefill_ep) {
    // SGLang's chunked-prefill-size counts the tokens of all DP ranks of the instance.
    p.args.insert(p.args.end(),
                  {fmt::format("--dp-size {}", pd.gpus), "--enable-dp-attention", fmt::format("--ep-size {}", pd.gpus),
                   "--moe-a2a-backend deepep", "--deepep-mode normal",
                   fmt::format("--chunked-prefill-size {:.0f}", lp.chunk_tokens * pd.gpus)});
    if (pd.micro_batches == 2) p.args.push_back("--enable-two-batch-overlap");
    add_sglang_redundant_experts(p, lp, pd.redundant_experts, pd.gpus);
  } else {
    p.args.push_back(fmt::format("--chunked-prefill-size {:.0f}", lp.chunk_tokens));
  }
  p.args.push_back(fmt::format("--max-running-requests {:.0f}", std::max(1.0, lp.request_slots)));
  out.push_back(p);

  const LaunchPool& d = lp.decode;
  Role r = role_for<Role>("decode", d);
  if (lp.decode_afd) {
    r.note = kAfdNoteSglang;
  } else {
    const double batch = lp.batch_per_gpu;
    r.args = {"--disaggregation-mode decode",
              "--disaggregation-transfer-backend " + transfer_backend,
              fmt::format("--tp-size {}", r.gpus),
              fmt::format("--dp-size {}", r.gpus),
              "--enable-dp-attention",
              fmt::format("--ep-size {}", r.gpus),
              "--moe-a2a-backend deepep",
              fmt::format("--deepep-mode {}", lp.dispatch_normal ? "normal" : "low_latency"),
              fmt::format("--cuda-graph-max-bs {:.0f}", batch),
              fmt::format("--max-running-requests {:.0f}", batch * r.gpus)};
    if (d.micro_batches == 2) r.args.push_back("--enable-two-batch-overlap");
    add_sglang_redundant_experts(r, lp, d.redundant_experts, r.gpus);
  }
  out.push_back(r);
  return out;
}

std::string plan_line(const char* comment, const LaunchPlan& lp) {
  return fmt::format(
      "{} Model {}: prefill {} x {} GPUs ({}), decode {} x {} GPUs; {:.2f} requests/s, TTFT {:.0f} ms, TPOT {:.1f} "
      "ms (predicted).\n",
      comment, lp.model_id, lp.prefill.instances, lp.prefill.gpus, lp.prefill.hardware, lp.decode.instances,
      lp.decode.gpus, lp.rate_per_s, lp.ttft_s * 1e3, lp.tpot_s * 1e3);
}

/// where_router: the file or step that runs the PD router, as the header names it.
std::string header(const char* comment, const std::string& what, const LaunchPlan& lp,
                   const std::string& where_router) {
  return fmt::format(
             "{c} {} written by ridgeline {} for SGLang {} (flags checked against sglang/srt/server_args.py of that "
             "release).\n",
             what, report::kVersion, kSglangVersion, fmt::arg("c", comment)) +
         plan_line(comment, lp) +
         fmt::format("{} Clients talk to the PD router (sglang-router {}, port 8000): {}.\n", comment,
                     kSglangRouterVersion, where_router);
}

/// The router's shell: PREFILL_HOSTS and DECODE_HOSTS hold node 0 of each instance, space-separated.
/// Every prefill URL carries its bootstrap port; the router waits for all workers to be healthy.
std::string router_body(const LaunchPlan& lp) {
  return fmt::format(
      "read -ra prefill <<<\"${{PREFILL_HOSTS:?set PREFILL_HOSTS (node 0 of each prefill instance)}}\"\n"
      "read -ra decode <<<\"${{DECODE_HOSTS:?set DECODE_HOSTS (node 0 of each decode instance)}}\"\n"
      "[ \"${{#prefill[@]}}\" -eq {np} ] && [ \"${{#decode[@]}}\" -eq {nd} ] ||\n"
      "  echo \"note: the plan has {np} prefill and {nd} decode instance(s); routing to ${{#prefill[@]}} and "
      "${{#decode[@]}}\" >&2\n"
      "python3 -c \"import sglang_router\" 2>/dev/null || pip install \"sglang-router=={v}\"\n"
      "ROUTER_ARGS=()\n"
      "for h in \"${{prefill[@]}}\"; do ROUTER_ARGS+=(--prefill \"http://$h:30000\" {bp}); done\n"
      "for h in \"${{decode[@]}}\"; do ROUTER_ARGS+=(--decode \"http://$h:30000\"); done\n"
      "exec python3 -m sglang_router.launch_router --pd-disaggregation \"${{ROUTER_ARGS[@]}}\" \\\n"
      "    --worker-startup-timeout-secs {t} --host 0.0.0.0 --port 8000\n",
      fmt::arg("np", lp.prefill.instances), fmt::arg("nd", lp.decode.instances), fmt::arg("v", kSglangRouterVersion),
      fmt::arg("bp", kBootstrapPort), fmt::arg("t", kRouterStartupTimeoutS));
}

std::string router_header(const char* comment, const std::string& what, const LaunchPlan& lp) {
  return fmt::format(
             "{c} {} written by ridgeline {} for sglang-router {} in front of SGLang {} workers (flags checked "
             "against sglang_router/launch_router.py of that release).\n",
             what, report::kVersion, kSglangRouterVersion, kSglangVersion, fmt::arg("c", comment)) +
         plan_line(comment, lp);
}

/// Why no router can run (an AFD decode pool has no server to route to), or "".
std::string router_note(const std::vector<Role>& roles) {
  for (const auto& r : roles)
    if (!r.note.empty()) return "No PD router: the " + r.name + " pool has no SGLang server to route to.";
  return "";
}

std::string router_script(const std::vector<Role>& roles, const LaunchPlan& lp) {
  std::string s = "#!/usr/bin/env bash\n" + router_header("#", "SGLang PD router", lp);
  const std::string note = router_note(roles);
  if (!note.empty()) return s + "# " + note + "\nexit 1\n";
  s += "# Run on any host that reaches node 0 of every instance, after the workers are started.\n";
  return s + "set -euo pipefail\n" + router_body(lp);
}

std::string command(const Role& r, const std::string& rank_expr, const std::string& leader_expr) {
  std::string s = "python3 -m sglang.launch_server --model-path \"$MODEL_PATH\" --trust-remote-code";
  for (const auto& a : r.args) s += " \\\n    " + a;
  if (r.nodes() > 1)
    s += fmt::format(" \\\n    --nnodes {} --node-rank {} --dist-init-addr {}:5757", r.nodes(), rank_expr, leader_expr);
  s += " \\\n    --host 0.0.0.0 --port 30000";
  return s;
}

std::string sglang_script(const Role& r, const LaunchPlan& lp) {
  std::string s = "#!/usr/bin/env bash\n" + header("#", "SGLang " + r.name + " worker", lp, "sglang-router.sh");
  s += fmt::format("# Run on each of the {} node(s) of every {} instance ({} instance(s) of {} GPUs).\n", r.nodes(),
                   r.name, r.instances, r.gpus);
  for (const auto& remark : r.remarks) s += "# " + remark + "\n";
  if (!r.note.empty()) return s + "# " + r.note + "\nexit 1\n";
  s += "set -euo pipefail\n";
  s += fmt::format("MODEL_PATH=\"${{MODEL_PATH:-{}}}\"\n", lp.model_repo);
  if (r.nodes() > 1)
    s += "NODE_RANK=\"${NODE_RANK:?set NODE_RANK (0..)}\"\nLEADER=\"${LEADER:?set LEADER (the address of node 0)}\"\n";
  s += "exec " + command(r, "\"$NODE_RANK\"", "\"$LEADER\"") + "\n";
  return s;
}

/// The #SBATCH lines and the node list of a batch script that runs every role instance.
template <class R>
std::string slurm_preamble(const std::vector<R>& roles, const LaunchPlan& lp, const std::string& header_text) {
  int nodes = 0;
  for (const auto& r : roles)
    if (r.note.empty()) nodes += r.nodes() * r.instances;
  const int gpn = roles.front().gpus_per_node;
  std::string s = "#!/usr/bin/env bash\n";
  s += fmt::format("#SBATCH --job-name=ridgeline-{}\n#SBATCH --nodes={}\n#SBATCH --ntasks-per-node=1\n", lp.model_id,
                   std::max(1, nodes));
  s += fmt::format("#SBATCH --gpus-per-node={}\n#SBATCH --exclusive\n", gpn);
  s += header_text;
  s += "set -euo pipefail\n";
  s += fmt::format("export MODEL_PATH=\"${{MODEL_PATH:-{}}}\"\n", lp.model_repo);
  s += "mapfile -t NODES < <(scontrol show hostnames \"$SLURM_JOB_NODELIST\")\nNEXT=0\n";
  return s;
}

/// One srun per instance of `r`, each over the next r.nodes() nodes of the allocation. With
/// leaders_var, each instance's node 0 is appended to that (space-separated) variable.
template <class R>
std::string slurm_instances(const R& r, const std::string& task, const std::string& leaders_var = "") {
  std::string s = leaders_var.empty() ? "" : leaders_var + "=\"\"\n";
  s += fmt::format("for i in $(seq 0 {}); do\n", r.instances - 1);
  s += fmt::format("  HOSTS=$(IFS=,; echo \"${{NODES[*]:$NEXT:{}}}\")\n", r.nodes());
  s += "  LEADER=${NODES[$NEXT]}\n";
  if (!leaders_var.empty()) s += fmt::format("  {0}=\"${{{0}}} $LEADER\"\n", leaders_var);
  s += fmt::format("  srun --nodes={} --ntasks={} --nodelist=\"$HOSTS\" --export=ALL,LEADER=\"$LEADER\" \\\n",
                   r.nodes(), r.nodes());
  s += "    " + task + " &\n";
  s += fmt::format("  NEXT=$((NEXT + {}))\ndone\n", r.nodes());
  return s;
}

std::string slurm_script(const std::vector<Role>& roles, const LaunchPlan& lp) {
  std::string s = slurm_preamble(roles, lp, header("#", "Slurm batch script", lp, "the last srun, on the first node"));
  for (const auto& r : roles) {
    if (!r.note.empty()) {
      s += "# " + r.name + ": " + r.note + "\n";
      continue;
    }
    const std::string hosts = shell_var(r.name, "_HOSTS");
    s += fmt::format("# {}: {} instance(s) of {} node(s)\n", r.name, r.instances, r.nodes());
    for (const auto& remark : r.remarks) s += "# " + remark + "\n";
    s += slurm_instances(r, "bash -c '" + command(r, "$SLURM_NODEID", "$LEADER") + "'", hosts);
  }
  const std::string note = router_note(roles);
  if (note.empty()) {
    // One more step on the first node, sharing it with that node's worker (--overlap).
    s += "# PD router: waits for every worker, then serves on port 8000 of the first node.\n";
    s += "export PREFILL_HOSTS DECODE_HOSTS\n";
    s += "srun --nodes=1 --ntasks=1 --overlap --nodelist=\"${NODES[0]}\" --export=ALL \\\n    bash -c '" +
         router_body(lp) + "' &\n";
  } else {
    s += "# " + note + "\n";
  }
  s += "wait\n";
  return s;
}

/// A LeaderWorkerSet of `instances` groups of `nodes` pods, leader and workers running `cmd`.
std::string lws_manifest(const std::string& role, int instances, int nodes, const std::string& container,
                         const std::string& image, const std::string& repo, const std::string& cmd, int gpus, int port,
                         bool vllm) {
  const bool shm = vllm;
  const std::string indented = indent_lines(cmd, 16);
  // vLLM's LWS example (docs/deployment/frameworks/lws.md of 0.11.0) gives /dev/shm a memory
  // volume: the container default (64 MiB) is too small for NCCL between the node's GPUs.
  const std::string mounts =
      shm ? "            volumeMounts:\n              - name: dshm\n                mountPath: /dev/shm\n" : "";
  const std::string volumes =
      shm ? "        volumes:\n          - name: dshm\n            emptyDir:\n              medium: Memory\n" : "";
  // The pod's own IP for NixlConnector's handshake address (Kubernetes downward API).
  const std::string env = vllm ? "              - name: VLLM_NIXL_SIDE_CHANNEL_HOST\n                valueFrom:\n"
                                 "                  fieldRef:\n                    fieldPath: status.podIP\n"
                               : "";
  auto pod = [&](const char* kind) {
    return fmt::format(
        "      metadata:\n        labels:\n          app: ridgeline-{name}\n          role: {kind}\n"
        "      spec:\n        containers:\n          - name: {container}\n            image: {image}\n"
        "            env:\n              - name: MODEL_PATH\n                value: \"{repo}\"\n{env}"
        "            command: [\"bash\", \"-c\"]\n            args:\n              - |\n                {cmd}\n"
        "            resources:\n              limits:\n                nvidia.com/gpu: \"{g}\"\n"
        "            ports:\n              - containerPort: {port}\n{mounts}{volumes}",
        fmt::arg("name", role), fmt::arg("kind", kind), fmt::arg("container", container), fmt::arg("image", image),
        fmt::arg("repo", repo), fmt::arg("env", env), fmt::arg("cmd", indented), fmt::arg("g", gpus),
        fmt::arg("port", port), fmt::arg("mounts", mounts), fmt::arg("volumes", volumes));
  };
  return fmt::format(
      "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata:\n  name: ridgeline-{}\nspec:\n"
      "  replicas: {}\n  leaderWorkerTemplate:\n    size: {}\n    leaderTemplate:\n{}    workerTemplate:\n{}",
      role, instances, nodes, pod("leader"), pod("worker"));
}

std::string k8s_manifest(const Role& r, const LaunchPlan& lp) {
  std::string s = header("#", "Kubernetes LeaderWorkerSet (" + r.name + ")", lp, "lws-router.yaml");
  if (!r.note.empty()) return s + "# " + r.note + "\n";
  return s + lws_manifest(r.name, r.instances, r.nodes(), "sglang", fmt::format("lmsysorg/sglang:v{}", kSglangVersion),
                          lp.model_repo, command(r, "$(LWS_WORKER_INDEX)", "$(LWS_LEADER_ADDRESS)"), r.gpus_on_node(),
                          30000, false);
}

/// The router as a Deployment and a Service. LeaderWorkerSet names group i's leader pod
/// `<name>-i` under a headless service `<name>`, so node 0 of every instance has a fixed address.
std::string k8s_router_manifest(const std::vector<Role>& roles, const LaunchPlan& lp) {
  std::string s = router_header("#", "Kubernetes Deployment + Service (PD router)", lp);
  const std::string note = router_note(roles);
  if (!note.empty()) return s + "# " + note + "\n";
  auto leaders = [](const Role& r) {
    std::string out;
    for (int i = 0; i < r.instances; ++i)
      out += fmt::format("{}ridgeline-{}-{}.ridgeline-{}", i ? " " : "", r.name, i, r.name);
    return out;
  };
  std::string body = fmt::format("PREFILL_HOSTS=\"{}\"\nDECODE_HOSTS=\"{}\"\n", leaders(roles[0]), leaders(roles[1])) +
                     router_body(lp);
  std::string indented = indent_lines(body, 14);
  while (!indented.empty() && indented.back() == ' ') indented.pop_back();
  return s +
         fmt::format(
             "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ridgeline-router\nspec:\n  replicas: 1\n"
             "  selector:\n    matchLabels:\n      app: ridgeline-router\n  template:\n    metadata:\n      labels:\n"
             "        app: ridgeline-router\n    spec:\n      containers:\n        - name: router\n"
             "          image: lmsysorg/sglang:v{}\n          command: [\"bash\", \"-c\"]\n          args:\n"
             "            - |\n              {}"
             "          ports:\n            - containerPort: 8000\n---\n"
             "apiVersion: v1\nkind: Service\nmetadata:\n  name: ridgeline-router\nspec:\n  selector:\n"
             "    app: ridgeline-router\n  ports:\n    - port: 8000\n      targetPort: 8000\n",
             kSglangVersion, indented);
}

// --- vLLM 0.11.0 ----------------------------------------------------------------------------

/// One role's `vllm serve` worker. vLLM runs one engine per data-parallel rank; --max-num-seqs and
/// --max-num-batched-tokens are per engine. EP size = TP x DP (--enable-expert-parallel).
/// args: flags other than the parallel sizes and the multi-node ones.
struct VllmRole : Role {
  int tp = 1, dp = 1;
  std::string all2all;  ///< VLLM_ALL2ALL_BACKEND (vllm/envs.py), empty without EP
  std::vector<std::string> remarks;
  /// DP ranks on one node; 0 when one TP group spans nodes (then Ray places the workers).
  int dp_local() const { return tp <= gpus_per_node && gpus_per_node % tp == 0 ? gpus_per_node / tp : 0; }
  bool ray() const { return nodes() > 1 && dp_local() == 0; }
};

/// Where a vLLM worker runs: a node the user starts it on, a Slurm step, a LeaderWorkerSet pod.
enum class Launcher { script, slurm, k8s };

std::string kv_transfer_config(const char* role) {
  // NixlConnector is vLLM 0.11.0's RDMA (UCX) KV transfer; it reads the role of each request from
  // the proxy's kv_transfer_params, so kv_role documents the worker's side.
  return fmt::format("--kv-transfer-config '{{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"{}\"}}'", role);
}

std::string eplb_args(int redundant) {
  return fmt::format("--enable-eplb --eplb-config '{{\"num_redundant_experts\":{}}}'", redundant);
}

std::vector<VllmRole> vllm_roles(const LaunchPlan& lp) {
  std::vector<VllmRole> out;
  const LaunchPool& pd = lp.prefill;
  VllmRole p = role_for<VllmRole>("prefill", pd);
  if (lp.prefill_ep) {
    p.dp = pd.gpus;
    p.all2all = "deepep_high_throughput";  // DeepEP normal kernels, as the plan's prefill dispatch
    if (pd.micro_batches == 2) p.args.push_back("--enable-dbo");
    if (pd.redundant_experts > 0) p.args.push_back(eplb_args(pd.redundant_experts));
  } else {
    p.tp = pd.gpus;
  }
  const double slots = std::max(1.0, lp.request_slots);
  p.args.push_back(fmt::format("--max-num-seqs {:.0f}", std::max(1.0, std::ceil(slots / p.dp))));
  p.args.push_back(fmt::format("--max-num-batched-tokens {:.0f}", lp.chunk_tokens));
  p.args.push_back(kv_transfer_config("kv_producer"));
  out.push_back(p);

  const LaunchPool& d = lp.decode;
  VllmRole r = role_for<VllmRole>("decode", d);
  if (lp.decode_afd) {
    r.note = kAfdNoteVllm;
  } else {
    const bool pure_tp = lp.attention_tp == r.gpus && r.gpus > 1;
    r.tp = std::max(1, lp.attention_tp);
    r.dp = std::max(1, r.gpus / r.tp);
    if (!pure_tp) {
      r.all2all = lp.dispatch_normal ? "deepep_high_throughput" : "deepep_low_latency";
      if (lp.expert_tp > 1)
        r.remarks.push_back(fmt::format(
            "The plan splits each expert {} ways (expert TP); vLLM {} spreads whole experts over TP x DP = {} GPUs.",
            lp.expert_tp, kVllmVersion, r.gpus));
    }
    const double seqs = std::max(1.0, std::round(lp.batch_per_gpu * r.tp));  // per DP engine
    if (d.micro_batches == 2) r.args.push_back("--enable-dbo");
    if (d.redundant_experts > 0) r.args.push_back(eplb_args(d.redundant_experts));
    r.args.push_back(fmt::format("--max-num-seqs {:.0f}", seqs));
    r.args.push_back(fmt::format("--cuda-graph-sizes {:.0f}", seqs));
    r.args.push_back(kv_transfer_config("kv_consumer"));
  }
  out.push_back(r);
  return out;
}

std::string vllm_header(const std::string& what, const LaunchPlan& lp) {
  return fmt::format(
             "# {} written by ridgeline {} for vLLM {} (flags checked against `vllm serve`'s parser: "
             "vllm/engine/arg_utils.py and vllm/entrypoints/openai/cli_args.py of that release).\n",
             what, report::kVersion, kVllmVersion) +
         plan_line("#", lp) +
         "# KV cache moves by vLLM's NixlConnector. Clients need a proxy in front of both pools (it sends each "
         "request to a prefill worker, then to a decode worker with the kv_transfer_params); the vLLM 0.11.0 "
         "package ships none (only its source tree has a test proxy), so none is emitted: use your PD router "
         "(e.g. llm-d or NVIDIA Dynamo).\n";
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

/// The shell that runs one node of a vLLM role instance (no shebang, no header).
std::string vllm_body(const VllmRole& r, const std::string& repo, Launcher where) {
  std::string s = "set -euo pipefail\n";
  s += fmt::format("MODEL_PATH=\"${{MODEL_PATH:-{}}}\"\n", repo);
  if (!r.all2all.empty()) s += "export VLLM_ALL2ALL_BACKEND=" + r.all2all + "\n";
  // NixlConnector listens for the KV handshake on VLLM_NIXL_SIDE_CHANNEL_HOST and the prefill side
  // hands that address to the decode workers (nixl_connector.py of 0.11.0); its default,
  // "localhost" (vllm/envs.py), is unreachable from another node: use this node's address.
  s += "export VLLM_NIXL_SIDE_CHANNEL_HOST=\"${VLLM_NIXL_SIDE_CHANNEL_HOST:-$(hostname -I | awk '{print $1}')}\"\n";
  if (r.nodes() <= 1) return s + "exec " + vllm_command(r, {}) + "\n";
  if (r.ray() && where == Launcher::script)
    return s + "exec " + vllm_command(r, {"--distributed-executor-backend ray"}) + "\n";
  switch (where) {
    case Launcher::script:
      s +=
          "NODE_RANK=\"${NODE_RANK:?set NODE_RANK (0..)}\"\nLEADER=\"${LEADER:?set LEADER (the address of node 0)}\"\n";
      break;
    case Launcher::slurm:  // srun numbers the step's nodes; the batch script exports LEADER
      s += "NODE_RANK=\"$SLURM_NODEID\"\nLEADER=\"${LEADER:?set by the batch script}\"\n";
      break;
    case Launcher::k8s:  // LeaderWorkerSet sets both in every pod of a group
      s += "NODE_RANK=\"$LWS_WORKER_INDEX\"\nLEADER=\"$LWS_LEADER_ADDRESS\"\n";
      break;
  }
  if (r.ray()) {
    // One TP group wider than a node: vLLM places its workers through Ray, so node 0 starts a Ray
    // head, waits until all of the instance's nodes have joined, then serves.
    s += "if [ \"$NODE_RANK\" -eq 0 ]; then\n  ray start --head --port=6379\n";
    s += fmt::format(
        "  until [ \"$(python3 -c 'import ray; ray.init(address=\"auto\"); print(len([n for n in ray.nodes() if "
        "n[\"Alive\"]]))')\" -ge {} ]; do sleep 5; done\n",
        r.nodes());
    s += "  exec " + vllm_command(r, {"--distributed-executor-backend ray"}) + "\nfi\n";
    s += "until ray start --address=\"$LEADER:6379\" --block; do sleep 5; done\n";
    return s;
  }
  // Multi-node data parallel: node 0 serves the API, the others run their DP ranks headless.
  const int local = r.dp_local();
  const std::vector<std::string> common = {fmt::format("--data-parallel-size-local {}", local),
                                           "--data-parallel-address \"$LEADER\""};
  std::vector<std::string> follower = common;
  follower.push_back(fmt::format("--data-parallel-start-rank \"$((NODE_RANK * {}))\" --headless", local));
  s += "if [ \"$NODE_RANK\" -eq 0 ]; then\n  exec " + vllm_command(r, common) + "\nfi\n";
  s += "exec " + vllm_command(r, follower) + "\n";
  return s;
}

std::string vllm_where_line(const VllmRole& r) {
  if (r.ray())
    return fmt::format(
        "# One TP group of {} GPUs spans {} nodes: start a Ray cluster over the instance's nodes and "
        "run this on its head node only.\n",
        r.tp, r.nodes());
  return fmt::format("# Run on each of the {} node(s) of every {} instance ({} instance(s) of {} GPUs).\n", r.nodes(),
                     r.name, r.instances, r.gpus);
}

std::string vllm_script(const VllmRole& r, const LaunchPlan& lp) {
  std::string s = "#!/usr/bin/env bash\n" + vllm_header("vLLM " + r.name + " worker", lp) + vllm_where_line(r);
  for (const auto& remark : r.remarks) s += "# " + remark + "\n";
  if (!r.note.empty()) return s + "# " + r.note + "\nexit 1\n";
  return s + vllm_body(r, lp.model_repo, Launcher::script);
}

std::string vllm_slurm_script(const std::vector<VllmRole>& roles, const LaunchPlan& lp) {
  std::string s = slurm_preamble(roles, lp, vllm_header("Slurm batch script", lp));
  for (const auto& r : roles) {
    if (!r.note.empty()) {
      s += "# " + r.name + ": " + r.note + "\n";
      continue;
    }
    const std::string var = shell_var(r.name, "_WORKER");
    s += fmt::format("# {}: {} instance(s) of {} node(s); every node of an instance runs ${}\n", r.name, r.instances,
                     r.nodes(), var);
    for (const auto& remark : r.remarks) s += "# " + remark + "\n";
    // A quoted here-document keeps the worker's own quoting ('{"kv_connector":...}') as written;
    // srun passes the text to bash on each node, so no shared file system is needed.
    s += fmt::format("{}=$(cat <<'RIDGELINE_WORKER'\n{}RIDGELINE_WORKER\n)\n", var,
                     vllm_body(r, lp.model_repo, Launcher::slurm));
    s += slurm_instances(r, fmt::format("bash -c \"${}\"", var));
  }
  s += "wait\n";
  return s;
}

std::string vllm_k8s_manifest(const VllmRole& r, const LaunchPlan& lp) {
  std::string s = vllm_header("Kubernetes LeaderWorkerSet (" + r.name + ")", lp);
  for (const auto& remark : r.remarks) s += "# " + remark + "\n";
  if (!r.note.empty()) return s + "# " + r.note + "\n";
  std::string body = vllm_body(r, lp.model_repo, Launcher::k8s);
  if (!body.empty() && body.back() == '\n') body.pop_back();
  return s + lws_manifest(r.name, r.instances, r.nodes(), "vllm", fmt::format("vllm/vllm-openai:v{}", kVllmVersion),
                          lp.model_repo, body, r.gpus_on_node(), 8000, true);
}

// --- a plan from `plan --isl ... --json` ----------------------------------------------------

/// Reads keys of the JSON a user loaded back, naming the key path in every error.
struct JsonIn {
  const nlohmann::json& j;
  std::string where;
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw ConfigError(
        fmt::format("emit: {}/{}: {}. Fix: pass the object `ridgeline plan --isl ... --json` prints (or "
                    "ridgeline.plan_service()'s result), unchanged.",
                    where, key, problem));
  }
  const nlohmann::json& at(const std::string& key) const {
    if (!j.contains(key)) fail(key, "missing");
    return j.at(key);
  }
  JsonIn object(const std::string& key) const {
    const auto& v = at(key);
    if (!v.is_object()) fail(key, "not an object");
    return {v, where + "/" + key};
  }
  double number(const std::string& key, double lo, double hi) const {
    const auto& v = at(key);
    if (!v.is_number()) fail(key, "not a number");
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) fail(key, fmt::format("{} is out of range [{:g}, {:g}]", x, lo, hi));
    return x;
  }
  int integer(const std::string& key, int lo, int hi) const {
    const double x = number(key, lo, hi);
    if (x != std::floor(x)) fail(key, fmt::format("{} is not a whole number", x));
    return int(x);
  }
  int integer_or(const std::string& key, int lo, int hi, int fallback) const {
    return j.contains(key) ? integer(key, lo, hi) : fallback;
  }
  std::string text(const std::string& key) const {
    const auto& v = at(key);
    if (!v.is_string()) fail(key, "not a string");
    return v.get<std::string>();
  }
  /// A hardware value of a scenario: an id, or {"base": id, overrides...}; gives its GPUs per node.
  int gpus_per_node(const std::string& key, const io::Database& db, std::string& id) const {
    const auto& v = at(key);
    if (v.is_string()) {
      id = v.get<std::string>();
      return std::max(1, db.hardware(id).gpus_per_node);
    }
    if (!v.is_object()) fail(key, "not a hardware id or object");
    id = JsonIn{v, where + "/" + key}.text("base");
    return std::max(1, db.hardware_with_overrides(id, v.dump(), where + "/" + key).gpus_per_node);
  }
};

constexpr int kMaxGpus = limits::kMaxGpus;

}  // namespace

int launchable_redundant_experts(int routed_experts, int redundant_experts, int ep_size) {
  if (ep_size <= 1 || routed_experts <= 0) return redundant_experts;
  const int slots = routed_experts + redundant_experts;
  return redundant_experts + (ep_size - slots % ep_size) % ep_size;
}

LaunchPlan launch_plan(const ServicePlan& sp, const ModelSpec& m) {
  LaunchPlan lp;
  lp.model_id = m.id;
  lp.model_repo = hf_repo(m);
  lp.routed_experts = m.moe.num_experts;
  const PrefillDeployment& pd = sp.prefill.deployment;
  lp.prefill = {pd.hw->id,
                sp.prefill_instances,
                pd.gpus,
                std::max(1, pd.hw->gpus_per_node),
                pd.parallel == PrefillParallel::ep ? pd.micro_batches : 1,
                pd.redundant_experts};
  lp.prefill_ep = pd.parallel == PrefillParallel::ep;
  lp.chunk_tokens = pd.chunk_tokens;
  lp.request_slots = sp.prefill.evaluation.request_slots;
  const Deployment& d = sp.decode.deployment;
  lp.decode = {d.attention.hw->id, sp.decode_instances, d.total_gpus(), std::max(1, d.attention.hw->gpus_per_node),
               d.micro_batches,    d.redundant_experts};
  lp.decode_afd = d.strategy == Strategy::afd;
  lp.attention_tp = d.attention.tp;
  lp.expert_tp = d.ffn.tp;
  lp.batch_per_gpu = d.batch_per_gpu;
  lp.dispatch_normal = d.dispatch_style == DispatchStyle::normal;
  lp.rate_per_s = sp.rate_per_s;
  lp.ttft_s = sp.ttft_s;
  lp.tpot_s = sp.tpot_s;
  return lp;
}

LaunchPlan launch_plan_from_json(const nlohmann::json& service, const io::Database& db) {
  const auto mode = service.is_object() ? service.find("mode") : service.end();
  if (mode == service.end() || !mode->is_string() || mode->get<std::string>() != "service")
    throw ConfigError(
        "emit: the object is not a service plan (it has no \"mode\": \"service\"). Fix: pass the result of "
        "ridgeline.plan_service() or the object `ridgeline plan --isl ... --json` prints (json.load of its output).");
  const JsonIn top{service, "service"};
  if (!service.contains("disaggregated") || service.at("disaggregated").is_null())
    throw ConfigError(
        "emit: the service has no feasible disaggregated plan, so there is nothing to launch. Fix: relax --ttft "
        "/ --slo or give more --gpus.");
  LaunchPlan lp;
  const ModelSpec& m = db.model(top.text("model"));
  lp.model_id = m.id;
  lp.model_repo = hf_repo(m);
  lp.routed_experts = m.moe.num_experts;
  const JsonIn dz = top.object("disaggregated");
  const JsonIn pre = dz.object("prefill");
  const std::string parallel = pre.text("parallel");
  if (parallel != "ep" && parallel != "tp") pre.fail("parallel", "\"" + parallel + "\" is not ep or tp");
  lp.prefill_ep = parallel == "ep";
  lp.prefill.gpus_per_node = pre.gpus_per_node("hardware", db, lp.prefill.hardware);
  lp.prefill.instances = pre.integer("instances", 1, kMaxGpus);
  lp.prefill.gpus = pre.integer("gpus_per_instance", 1, kMaxGpus);
  lp.prefill.micro_batches = pre.integer("micro_batches", 1, 2);
  lp.prefill.redundant_experts = pre.integer("redundant_experts", 0, 1 << 20);
  lp.chunk_tokens = pre.number("chunk_tokens", 1, 1e9);
  lp.request_slots = pre.number("request_slots_per_instance", 0, 1e9);

  const JsonIn dec = dz.object("decode");
  lp.decode.instances = dec.integer("instances", 1, kMaxGpus);
  const JsonIn dep = dec.object("deployment");
  const std::string strategy = dep.text("strategy");
  if (strategy != "ep" && strategy != "afd") dep.fail("strategy", "\"" + strategy + "\" is not ep or afd");
  lp.decode_afd = strategy == "afd";
  lp.decode.micro_batches = dep.integer("micro_batches", 1, 64);
  lp.decode.redundant_experts = dep.integer_or("redundant_experts", 0, 1 << 20, 0);
  if (lp.decode_afd) {
    const JsonIn att = dep.object("attention"), ffn = dep.object("ffn");
    lp.decode.gpus_per_node = att.gpus_per_node("hardware", db, lp.decode.hardware);
    lp.decode.gpus = att.integer("gpus", 1, kMaxGpus) + ffn.integer("gpus", 1, kMaxGpus);
    lp.attention_tp = att.integer("tp", 1, kMaxGpus);
    lp.expert_tp = ffn.integer("tp", 1, kMaxGpus);
  } else {
    lp.decode.gpus_per_node = dep.gpus_per_node("hardware", db, lp.decode.hardware);
    lp.decode.gpus = dep.integer("gpus", 1, kMaxGpus);
    lp.batch_per_gpu = dep.number("batch_per_gpu", 0, 1e9);
    lp.dispatch_normal = dep.text("dispatch_style") == "normal";
    lp.attention_tp = dep.integer_or("attention_tp", 1, kMaxGpus, 1);
    lp.expert_tp = dep.integer_or("expert_tp", 1, kMaxGpus, 1);
  }
  lp.rate_per_s = dz.number("rate_per_s", 0, 1e12);
  lp.ttft_s = dz.number("ttft_ms", 0, 1e12) / 1e3;
  lp.tpot_s = dz.number("tpot_ms", 0, 1e12) / 1e3;
  return lp;
}

void check_emit_kind(const std::string& kind, const std::string& transfer_backend) {
  auto member = [](const char* flag, const std::string& v, const std::vector<std::string>& set) {
    if (std::find(set.begin(), set.end(), v) != set.end()) return;
    std::string all;
    for (const auto& s : set) all += (all.empty() ? "" : ",") + s;
    throw FlagError(fmt::format("{}: {} not in {{{}}}", flag, v, all));
  };
  member("--emit", kind, kEmitKinds);
  if (!transfer_backend.empty()) member("--disaggregation-backend", transfer_backend, kDisaggregationBackends);
  if (is_vllm(kind) && transfer_backend == "mooncake")
    throw FlagError(fmt::format(
        "--disaggregation-backend mooncake: vLLM {} ships no Mooncake KV connector (its kv_connector factory "
        "registers {}). Fix: drop --disaggregation-backend (or pass nixl) with --emit {}, or emit SGLang material "
        "(--emit sglang|slurm|k8s) for Mooncake.",
        kVllmVersion, kVllm0110Connectors, kind));
}

std::vector<EmittedFile> emit_service(const std::string& kind, const LaunchPlan& lp,
                                      const std::string& transfer_backend) {
  check_emit_kind(kind, transfer_backend);
  std::vector<EmittedFile> out;
  if (is_vllm(kind)) {
    const auto roles = vllm_roles(lp);
    if (kind == "vllm") {
      for (const auto& r : roles) out.push_back({"vllm-" + r.name + ".sh", vllm_script(r, lp)});
    } else if (kind == "vllm-slurm") {
      out.push_back({"vllm-service.sbatch", vllm_slurm_script(roles, lp)});
    } else {
      for (const auto& r : roles) out.push_back({"vllm-lws-" + r.name + ".yaml", vllm_k8s_manifest(r, lp)});
    }
    return out;
  }
  const auto roles = roles_of(lp, transfer_backend.empty() ? "mooncake" : transfer_backend);
  if (kind == "sglang") {
    for (const auto& r : roles) out.push_back({"sglang-" + r.name + ".sh", sglang_script(r, lp)});
    out.push_back({"sglang-router.sh", router_script(roles, lp)});
  } else if (kind == "slurm") {
    out.push_back({"service.sbatch", slurm_script(roles, lp)});
  } else if (kind == "k8s") {
    for (const auto& r : roles) out.push_back({"lws-" + r.name + ".yaml", k8s_manifest(r, lp)});
    out.push_back({"lws-router.yaml", k8s_router_manifest(roles, lp)});
  }
  return out;
}

std::vector<EmittedFile> emit_service(const std::string& kind, const ServicePlan& sp, const ModelSpec& m,
                                      const std::string& transfer_backend) {
  return emit_service(kind, launch_plan(sp, m), transfer_backend);
}

}  // namespace ridgeline::present
