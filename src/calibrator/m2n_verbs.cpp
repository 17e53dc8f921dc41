// SPDX-License-Identifier: Apache-2.0
// m2n --backend verbs: RDMA write-with-immediate between pre-registered host buffers, the way a
// CPU-driven M2N library (MegaScale-Infer's, StepMesh) moves tokens. One reliable-connected
// queue pair per peer, exchanged over MPI once; the receive buffers are registered once and every
// sender owns a slot in each receiver's buffer, so a phase is only ibv_post_send per message and
// completion polling: no registration or connection set-up per message. The immediate carries
// the sender's rank, so a receiver knows which slot was written when its receive completes.
// With --gpudirect (CUDA builds) both buffers are GPU memory on the rank's GPU, registered for
// GPUDirect RDMA: ibv_reg_dmabuf_mr on a dma-buf of the buffer when the driver exports one, else
// ibv_reg_mr on the device pointer (nvidia-peermem); payloads go in and out through cudaMemcpy.
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <mpi.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "m2n.hpp"
#include "m2n_memory.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline::calib {

namespace {

constexpr int kPort = 1;
constexpr int kRecvDepth = 8;  ///< receive WRs kept posted per queue pair

struct Endpoint {
  std::uint32_t qpn = 0, psn = 0;
  std::uint16_t lid = 0;
  std::uint8_t gid[16] = {0};
  std::uint64_t addr = 0;  ///< base of the owner's receive buffer
  std::uint32_t rkey = 0;
};

class VerbsTransport final : public Transport {
 public:
  VerbsTransport(int rank, int world, int local_rank, MemoryKind memory, ibv_device* dev)
      : rank_(rank), world_(world), local_rank_(local_rank), memory_kind_(memory) {
    name_ = ibv_get_device_name(dev);
    ctx_ = ibv_open_device(dev);
    if (!ctx_) throw Error("ibv_open_device(" + name_ + ") failed");
    pd_ = ibv_alloc_pd(ctx_);
    if (!pd_) throw Error("ibv_alloc_pd failed");
    cq_ = ibv_create_cq(ctx_, 4 * world * kRecvDepth + 64, nullptr, nullptr, 0);
    if (!cq_) throw Error("ibv_create_cq failed");
    if (ibv_query_port(ctx_, kPort, &port_)) throw Error("ibv_query_port failed");
    if (const char* g = std::getenv("RIDGELINE_VERBS_GID_INDEX")) gid_index_ = std::atoi(g);
    ibv_gid gid{};
    if (ibv_query_gid(ctx_, kPort, gid_index_, &gid)) throw Error("ibv_query_gid failed");
    std::memcpy(gid_, gid.raw, sizeof gid_);
  }
  ~VerbsTransport() override {
    for (ibv_qp* q : qp_)
      if (q) ibv_destroy_qp(q);
    if (send_mr_) ibv_dereg_mr(send_mr_);
    if (recv_mr_) ibv_dereg_mr(recv_mr_);
    if (cq_) ibv_destroy_cq(cq_);
    if (pd_) ibv_dealloc_pd(pd_);
    if (ctx_) ibv_close_device(ctx_);
  }
  std::string device() const override {
    return name_ + " port " + std::to_string(kPort) +
           (port_.link_layer == IBV_LINK_LAYER_ETHERNET ? " (RoCE)" : " (InfiniBand)") + ", " +
           (send_ ? send_->describe() : std::string(memory_kind_ == MemoryKind::gpu ? "GPU memory" : "host memory"));
  }
  std::string memory() const override { return registration_name(registration_); }
  std::map<std::string, std::string> versions() const override {
    ibv_device_attr a{};
    ibv_query_device(ctx_, &a);
    std::map<std::string, std::string> v = {{"rdma_device", name_}, {"rdma_firmware", a.fw_ver}};
    if (send_) v.merge(send_->versions());
    return v;
  }
  void prepare(const sweep::Layout& l, std::size_t max_bytes) override {
    if (max_bytes > 0x7fffffffu) throw Error("verbs messages are limited to 2 GiB (one scatter-gather entry)");
    layout_ = l;
    max_ = max_bytes;
    const size_t total = size_t(world_) * max_bytes;
    send_ = allocate(total);
    recv_ = allocate(total);
    staging_.assign(max_bytes, 0);
    send_mr_ = register_buffer(*send_, IBV_ACCESS_LOCAL_WRITE);
    recv_mr_ = register_buffer(*recv_, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
    qp_.assign(size_t(world_), nullptr);
    std::vector<Endpoint> mine(static_cast<size_t>(world_)), theirs(static_cast<size_t>(world_));
    for (int p = 0; p < world_; ++p) {
      if (p == rank_) continue;
      ibv_qp_init_attr a{};
      a.send_cq = cq_;
      a.recv_cq = cq_;
      a.qp_type = IBV_QPT_RC;
      a.cap.max_send_wr = 2 * kRecvDepth;
      a.cap.max_recv_wr = kRecvDepth;
      a.cap.max_send_sge = 1;
      a.cap.max_recv_sge = 1;
      qp_[size_t(p)] = ibv_create_qp(pd_, &a);
      if (!qp_[size_t(p)]) throw Error("ibv_create_qp failed");
      Endpoint& e = mine[size_t(p)];
      e.qpn = qp_[size_t(p)]->qp_num;
      e.psn = std::uint32_t(rank_ * 1000 + p) & 0xffffff;
      e.lid = port_.lid;
      std::memcpy(e.gid, gid_, sizeof gid_);
      e.addr = reinterpret_cast<std::uint64_t>(recv_->address());
      e.rkey = recv_mr_->rkey;
    }
    MPI_Alltoall(mine.data(), sizeof(Endpoint), MPI_BYTE, theirs.data(), sizeof(Endpoint), MPI_BYTE, MPI_COMM_WORLD);
    remote_ = theirs;
    for (int p = 0; p < world_; ++p) {
      if (p == rank_) continue;
      connect(qp_[size_t(p)], mine[size_t(p)], theirs[size_t(p)]);
      for (int k = 0; k < kRecvDepth; ++k) post_recv(p);
    }
    MPI_Barrier(MPI_COMM_WORLD);  // every queue pair is ready to receive before anyone writes
  }
  void fill(sweep::Pattern p, std::size_t bytes, std::uint32_t seed) override {
    // Through a host staging buffer: GPU memory is not addressable from the host.
    for (int d : sweep::schedule(p, layout_, rank_).send_to) {
      sweep::fill_payload(staging_.data(), bytes, rank_, d, seed);
      send_->write(size_t(d) * max_, staging_.data(), bytes);
    }
    clear(p, bytes);
  }
  void clear(sweep::Pattern p, std::size_t bytes) override {
    for (int s : sweep::schedule(p, layout_, rank_).recv_from) recv_->zero(size_t(s) * max_, bytes);
  }
  void run(sweep::Pattern p, std::size_t bytes) override {
    const sweep::RankSchedule s = sweep::schedule(p, layout_, rank_);
    for (int dst : s.send_to) {
      ibv_sge sge{};
      sge.addr = reinterpret_cast<std::uint64_t>(send_->address()) + std::uint64_t(dst) * max_;
      sge.length = std::uint32_t(bytes);
      sge.lkey = send_mr_->lkey;
      ibv_send_wr wr{}, *bad = nullptr;
      wr.wr_id = std::uint64_t(dst);
      wr.sg_list = &sge;
      wr.num_sge = 1;
      wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
      wr.send_flags = IBV_SEND_SIGNALED;
      wr.imm_data = htonl(std::uint32_t(rank_));
      // The sender's slot in the receiver's buffer.
      wr.wr.rdma.remote_addr = remote_[size_t(dst)].addr + std::uint64_t(rank_) * max_;
      wr.wr.rdma.rkey = remote_[size_t(dst)].rkey;
      if (ibv_post_send(qp_[size_t(dst)], &wr, &bad)) throw Error("ibv_post_send failed");
    }
    size_t sent = 0, received = 0;
    const auto start = std::chrono::steady_clock::now();
    ibv_wc wc[32];
    while (sent < s.send_to.size() || received < s.recv_from.size()) {
      const int n = ibv_poll_cq(cq_, 32, wc);
      if (n < 0) throw Error("ibv_poll_cq failed");
      for (int i = 0; i < n; ++i) {
        if (wc[i].status != IBV_WC_SUCCESS)
          throw Error(std::string("work completion failed: ") + ibv_wc_status_str(wc[i].status));
        if (wc[i].opcode == IBV_WC_RECV_RDMA_WITH_IMM) {
          ++received;
          post_recv(int(ntohl(wc[i].imm_data)));  // keep the queue pair's receive depth
        } else {
          ++sent;
        }
      }
      if (n == 0 && std::chrono::steady_clock::now() - start > std::chrono::seconds(60))
        throw Error("no completion for 60 s: a peer is gone or the fabric drops packets");
    }
  }
  sweep::PayloadCheck verify(sweep::Pattern p, std::size_t bytes, std::uint32_t seed, int& src) override {
    for (int s : sweep::schedule(p, layout_, rank_).recv_from) {
      recv_->read(size_t(s) * max_, staging_.data(), bytes);
      const sweep::PayloadCheck c = sweep::check_payload(staging_.data(), bytes, s, rank_, seed);
      if (!c.ok) {
        src = s;
        return c;
      }
    }
    return {};
  }

 private:
  std::unique_ptr<BufferMemory> allocate(std::size_t bytes) {
    if (memory_kind_ == MemoryKind::gpu) return allocate_gpu_memory(local_rank_, bytes);
    auto h = std::make_unique<HostMemory>(bytes);
    if (!h->ok()) throw Error("cannot allocate the send and receive buffers");
    return h;
  }
  /// Host memory: ibv_reg_mr. GPU memory: ibv_reg_dmabuf_mr on a dma-buf of the buffer, else
  /// ibv_reg_mr on the device pointer (works only with nvidia-peermem loaded).
  ibv_mr* register_buffer(const BufferMemory& b, int access) {
    if (b.kind() == MemoryKind::host) {
      ibv_mr* mr = ibv_reg_mr(pd_, b.address(), b.size(), access);
      if (!mr) throw Error("ibv_reg_mr failed (locked-memory limit? raise ulimit -l)");
      registration_ = Registration::host;
      return mr;
    }
    std::string dmabuf_why;
#ifdef RIDGELINE_HAVE_IBV_DMABUF
    const int fd = b.dmabuf_fd(dmabuf_why);
    if (fd >= 0) {
      ibv_mr* mr = ibv_reg_dmabuf_mr(pd_, 0, b.size(), reinterpret_cast<std::uint64_t>(b.address()), fd, access);
      const int err = errno;
      close(fd);  // the memory region holds its own reference to the dma-buf
      if (mr) {
        registration_ = Registration::gpu_dmabuf;
        return mr;
      }
      dmabuf_why = std::string("ibv_reg_dmabuf_mr failed: ") + std::strerror(err);
    }
#else
    dmabuf_why = "this build's libibverbs has no ibv_reg_dmabuf_mr (rdma-core older than v34)";
#endif
    ibv_mr* mr = ibv_reg_mr(pd_, b.address(), b.size(), access);
    if (!mr) {
      const int err = errno;
      throw Error(gpu_registration_failed(name_, dmabuf_why, std::strerror(err)));
    }
    registration_ = Registration::gpu_peermem;
    return mr;
  }
  void post_recv(int peer) {
    ibv_recv_wr wr{}, *bad = nullptr;
    wr.wr_id = std::uint64_t(peer);
    wr.num_sge = 0;  // write-with-immediate consumes a receive WR but no receive buffer
    if (ibv_post_recv(qp_[size_t(peer)], &wr, &bad)) throw Error("ibv_post_recv failed");
  }
  void connect(ibv_qp* qp, const Endpoint& me, const Endpoint& peer) {
    ibv_qp_attr a{};
    a.qp_state = IBV_QPS_INIT;
    a.pkey_index = 0;
    a.port_num = kPort;
    a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_LOCAL_WRITE;
    if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
      throw Error("queue pair to INIT failed");
    a = {};
    a.qp_state = IBV_QPS_RTR;
    a.path_mtu = port_.active_mtu;
    a.dest_qp_num = peer.qpn;
    a.rq_psn = peer.psn;
    a.max_dest_rd_atomic = 1;
    a.min_rnr_timer = 12;
    a.ah_attr.dlid = peer.lid;
    a.ah_attr.port_num = kPort;
    if (port_.link_layer == IBV_LINK_LAYER_ETHERNET || peer.lid == 0) {
      a.ah_attr.is_global = 1;
      std::memcpy(a.ah_attr.grh.dgid.raw, peer.gid, sizeof peer.gid);
      a.ah_attr.grh.sgid_index = std::uint8_t(gid_index_);
      a.ah_attr.grh.hop_limit = 64;
    }
    if (ibv_modify_qp(qp, &a,
                      IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                          IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
      throw Error("queue pair to RTR failed (wrong GID index? set RIDGELINE_VERBS_GID_INDEX)");
    a = {};
    a.qp_state = IBV_QPS_RTS;
    a.timeout = 14;
    a.retry_cnt = 7;
    a.rnr_retry = 7;
    a.sq_psn = me.psn;
    a.max_rd_atomic = 1;
    if (ibv_modify_qp(qp, &a,
                      IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                          IBV_QP_MAX_QP_RD_ATOMIC))
      throw Error("queue pair to RTS failed");
  }

  int rank_, world_, local_rank_;
  MemoryKind memory_kind_;
  Registration registration_ = Registration::host;
  std::string name_;
  ibv_context* ctx_ = nullptr;
  ibv_pd* pd_ = nullptr;
  ibv_cq* cq_ = nullptr;
  ibv_port_attr port_{};
  int gid_index_ = 0;
  std::uint8_t gid_[16] = {0};
  sweep::Layout layout_;
  std::size_t max_ = 0;
  std::unique_ptr<BufferMemory> send_, recv_;
  std::vector<std::uint8_t> staging_;  ///< one message: the payload is written and checked here
  ibv_mr* send_mr_ = nullptr;
  ibv_mr* recv_mr_ = nullptr;
  std::vector<ibv_qp*> qp_;
  std::vector<Endpoint> remote_;
};

}  // namespace

std::unique_ptr<Transport> make_verbs_transport(int rank, int world, int local_rank, bool gpudirect,
                                                std::string& why_not) {
  const MemoryChoice memory = choose_memory("verbs", gpudirect, gpu_memory_built());
  int n = 0;
  ibv_device** list = ibv_get_device_list(&n);
  std::string gpu_why;
  const bool nic = list && n > 0;
  const bool gpu = memory.error.empty() && (memory.kind == MemoryKind::host || gpu_available(gpu_why));
  int mine = nic && gpu ? 1 : 0, all = 0;
  // Every rank must agree before the queue-pair exchange, or the ones with a device would wait.
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    if (list) ibv_free_device_list(list);
    why_not = !memory.error.empty() ? memory.error
              : !gpu                ? gpu_why
              : !nic                ? "no RDMA device (ibv_get_device_list found none): the verbs backend needs an "
                                      "InfiniBand or RoCE NIC; use --backend cpu to test the sweep"
                                    : "another rank has no RDMA device or GPU";
    return nullptr;
  }
  ibv_device* dev = list[0];
  if (const char* want = std::getenv("RIDGELINE_VERBS_DEVICE"))
    for (int i = 0; i < n; ++i)
      if (std::string(ibv_get_device_name(list[i])) == want) dev = list[i];
  auto t = std::make_unique<VerbsTransport>(rank, world, local_rank, memory.kind, dev);
  ibv_free_device_list(list);
  return t;
}

}  // namespace ridgeline::calib
