// SPDX-License-Identifier: Apache-2.0
// m2n --backend nccl: one GPU per rank (local rank modulo the visible GPUs), an NCCL
// communicator over all ranks whose ncclUniqueId rank 0 broadcasts with MPI, and every phase as
// one ncclGroupStart / ncclSend... ncclRecv... / ncclGroupEnd on one stream. The all-to-all
// pattern is DeepEP's: every rank sends tokens x hidden bytes to every other rank.
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <string>
#include <vector>

#include "m2n.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline::calib {

namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}
void nccl_check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) throw Error(std::string(what) + ": " + ncclGetErrorString(r));
}

class NcclTransport final : public Transport {
 public:
  NcclTransport(int rank, int world, int gpu) : rank_(rank), gpu_(gpu) {
    cuda_check(cudaSetDevice(gpu), "cudaSetDevice");
    ncclUniqueId id;
    if (rank == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    nccl_check(ncclCommInitRank(&comm_, world, id, rank), "ncclCommInitRank");
    cuda_check(cudaStreamCreate(&stream_), "cudaStreamCreate");
  }
  ~NcclTransport() override {
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
    cudaFree(send_);
    cudaFree(recv_);
  }
  std::string device() const override {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, gpu_);
    return std::string(prop.name) + " (GPU " + std::to_string(gpu_) + ")";
  }
  std::string memory() const override { return "gpu"; }
  std::map<std::string, std::string> versions() const override {
    int driver = 0, runtime = 0, nccl = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    ncclGetVersion(&nccl);
    return {{"cuda_driver", std::to_string(driver)},
            {"cuda_runtime", std::to_string(runtime)},
            {"nccl", std::to_string(nccl)}};
  }
  void prepare(const sweep::Layout& l, std::size_t max_bytes) override {
    layout_ = l;
    max_ = max_bytes;
    const size_t total = size_t(l.world()) * max_bytes;
    cuda_check(cudaMalloc(&send_, total), "cudaMalloc (send buffers)");
    cuda_check(cudaMalloc(&recv_, total), "cudaMalloc (receive buffers)");
    host_.resize(max_bytes);
  }
  void fill(sweep::Pattern p, std::size_t bytes, std::uint32_t seed) override {
    for (int d : sweep::schedule(p, layout_, rank_).send_to) {
      sweep::fill_payload(host_.data(), bytes, rank_, d, seed);
      cuda_check(cudaMemcpy(send_ + size_t(d) * max_, host_.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    }
    clear(p, bytes);
  }
  void clear(sweep::Pattern p, std::size_t bytes) override {
    for (int s : sweep::schedule(p, layout_, rank_).recv_from)
      cuda_check(cudaMemset(recv_ + size_t(s) * max_, 0, bytes), "cudaMemset");
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  void run(sweep::Pattern p, std::size_t bytes) override {
    const sweep::RankSchedule s = sweep::schedule(p, layout_, rank_);
    nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (int dst : s.send_to)
      nccl_check(ncclSend(send_ + size_t(dst) * max_, bytes, ncclUint8, dst, comm_, stream_), "ncclSend");
    for (int src : s.recv_from)
      nccl_check(ncclRecv(recv_ + size_t(src) * max_, bytes, ncclUint8, src, comm_, stream_), "ncclRecv");
    nccl_check(ncclGroupEnd(), "ncclGroupEnd");
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }
  sweep::PayloadCheck verify(sweep::Pattern p, std::size_t bytes, std::uint32_t seed, int& src) override {
    for (int s : sweep::schedule(p, layout_, rank_).recv_from) {
      cuda_check(cudaMemcpy(host_.data(), recv_ + size_t(s) * max_, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy");
      const sweep::PayloadCheck c = sweep::check_payload(host_.data(), bytes, s, rank_, seed);
      if (!c.ok) {
        src = s;
        return c;
      }
    }
    return {};
  }

 private:
  int rank_, gpu_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  sweep::Layout layout_;
  std::size_t max_ = 0;
  std::uint8_t* send_ = nullptr;
  std::uint8_t* recv_ = nullptr;
  std::vector<std::uint8_t> host_;
};

}  // namespace

std::unique_ptr<Transport> make_nccl_transport(int rank, int world, int local_rank, std::string& why_not) {
  int n = 0;
  const bool have = cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
  // Every rank must agree before the collective set-up, or the ones with a GPU would wait forever.
  int mine = have ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    why_not = have ? "another rank sees no CUDA device"
                   : "no CUDA device is visible to this rank (the nccl backend "
                     "needs one GPU per rank; use --backend cpu to test the sweep)";
    return nullptr;
  }
  return std::make_unique<NcclTransport>(rank, world, local_rank % n);
}

}  // namespace ridgeline::calib
