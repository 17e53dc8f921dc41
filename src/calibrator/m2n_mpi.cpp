// SPDX-License-Identifier: Apache-2.0
// m2n --backend cpu: MPI point-to-point between host buffers (MPI_Isend / MPI_Irecv for every
// message of the phase, then MPI_Waitall). Runs wherever MPI does, so CI exercises the sweep,
// the checks and the fit without a GPU or an RDMA device.
#include <mpi.h>

#include <cstring>

#include "m2n.hpp"

namespace ridgeline::calib {

namespace {

class MpiHostTransport final : public Transport {
 public:
  explicit MpiHostTransport(int rank) : rank_(rank) {}
  std::string device() const override { return "host memory (MPI point-to-point)"; }
  std::string memory() const override { return "host"; }
  void prepare(const sweep::Layout& l, std::size_t max_bytes) override {
    layout_ = l;
    max_ = max_bytes;
    // One slot per peer rank, in both directions: every pattern's messages have their own buffer.
    send_.assign(size_t(l.world()) * max_bytes, 0);
    recv_.assign(size_t(l.world()) * max_bytes, 0);
    requests_.reserve(size_t(2 * l.world()));
  }
  void fill(sweep::Pattern p, std::size_t bytes, std::uint32_t seed) override {
    for (int d : sweep::schedule(p, layout_, rank_).send_to) sweep::fill_payload(slot(send_, d), bytes, rank_, d, seed);
    clear(p, bytes);
  }
  void clear(sweep::Pattern p, std::size_t bytes) override {
    for (int s : sweep::schedule(p, layout_, rank_).recv_from) std::memset(slot(recv_, s), 0, bytes);
  }
  void run(sweep::Pattern p, std::size_t bytes) override {
    const sweep::RankSchedule s = sweep::schedule(p, layout_, rank_);
    requests_.clear();
    // Receives first, so no message waits in an unexpected-message queue.
    for (int src : s.recv_from) {
      requests_.emplace_back();
      MPI_Irecv(slot(recv_, src), int(bytes), MPI_BYTE, src, kTag, MPI_COMM_WORLD, &requests_.back());
    }
    for (int dst : s.send_to) {
      requests_.emplace_back();
      MPI_Isend(slot(send_, dst), int(bytes), MPI_BYTE, dst, kTag, MPI_COMM_WORLD, &requests_.back());
    }
    MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  }
  sweep::PayloadCheck verify(sweep::Pattern p, std::size_t bytes, std::uint32_t seed, int& src) override {
    for (int s : sweep::schedule(p, layout_, rank_).recv_from) {
      const sweep::PayloadCheck c = sweep::check_payload(slot(recv_, s), bytes, s, rank_, seed);
      if (!c.ok) {
        src = s;
        return c;
      }
    }
    return {};
  }

 private:
  static constexpr int kTag = 4242;
  std::uint8_t* slot(std::vector<std::uint8_t>& v, int peer) { return v.data() + size_t(peer) * max_; }
  int rank_;
  sweep::Layout layout_;
  std::size_t max_ = 0;
  std::vector<std::uint8_t> send_, recv_;
  std::vector<MPI_Request> requests_;
};

}  // namespace

std::unique_ptr<Transport> make_cpu_transport(int rank) {
  return std::make_unique<MpiHostTransport>(rank);
}

}  // namespace ridgeline::calib
