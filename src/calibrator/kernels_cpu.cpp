// SPDX-License-Identifier: Apache-2.0
// The CPU KernelBackend: attention_cpu() for decode attention, Eigen float GEMMs per expert for
// the grouped GEMM, and this host's peaks (a large Eigen GEMM, a streaming read).
#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <thread>

#include "kernel_backend.hpp"
#include "ridgeline/error.hpp"

namespace ridgeline::calib {

namespace {

using Clock = std::chrono::steady_clock;
volatile float g_keep = 0;  // keeps timed results observable

template <class F>
std::vector<double> times_s(int reps, F&& body) {
  body();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    body();
    t.push_back(std::chrono::duration<double>(Clock::now() - a).count());
  }
  return t;
}

double best(const std::vector<double>& t) {
  return *std::min_element(t.begin(), t.end());
}

class CpuKernels final : public KernelBackend {
 public:
  CpuKernels(int threads, int splits) : threads_(std::max(1, threads)), splits_(splits) {}
  std::string name() const override { return "cpu"; }
  std::string device() const override {
    return "host CPU (" + std::to_string(std::thread::hardware_concurrency()) + " hardware threads, " +
           std::to_string(threads_) + " used), plain C++ attention, Eigen " + std::to_string(EIGEN_WORLD_VERSION) +
           "." + std::to_string(EIGEN_MAJOR_VERSION) + "." + std::to_string(EIGEN_MINOR_VERSION) + " GEMM, float32";
  }
  std::string attention_dtype() const override { return "fp32"; }
  int attention_dtype_bytes() const override { return 4; }
  // float32 accumulation over up to ~10^5 tokens against a double reference.
  double attention_error_bound() const override { return 1e-4; }

  CheckResult verify_attention(const AttentionShape& s) override {
    const AttentionInputs in = make_attention_inputs(s, 1234, false);
    std::vector<float> out(attention_output_elements(s));
    attention_cpu(s, in, out.data(), splits_, threads_);
    return check_against_reference(out, attention_reference(s, in), attention_error_bound());
  }
  std::vector<double> time_attention(const AttentionShape& s, int reps) override {
    const AttentionInputs in = make_attention_inputs(s, 99, false);
    std::vector<float> out(attention_output_elements(s));
    auto t = times_s(reps, [&] {
      attention_cpu(s, in, out.data(), splits_, threads_);
      g_keep = g_keep + out[0];
    });
    return t;
  }

  std::vector<std::string> gemm_dtypes() const override { return {"fp32"}; }

  CheckResult verify_gemm(const GemmProblem& p) override {
    Work w(p);
    w.run();
    // Rows 0 and last of every active expert, all columns, against a double dot product.
    std::vector<float> got;
    std::vector<double> ref;
    for (size_t e = 0; e < p.tokens.size(); ++e) {
      const int m = p.tokens[e];
      if (m == 0) continue;
      for (int row : {0, m - 1})
        for (int n = 0; n < p.intermediate; ++n) {
          double r = 0;
          for (int k = 0; k < p.hidden; ++k) r += double(w.x[e](row, k)) * w.w[e](k, n);
          ref.push_back(r);
          got.push_back(w.y[e](row, n));
        }
    }
    return check_against_reference(got, ref, 1e-4);
  }
  std::vector<double> time_gemm(const GemmProblem& p, int reps) override {
    Work w(p);
    return times_s(reps, [&] { w.run(); });
  }

  MeasuredPeaks measure_peaks(bool quick) override {
    MeasuredPeaks pk;
    const int n = quick ? 256 : 768;
    Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
    const double gemm_s = best(times_s(quick ? 2 : 5, [&] {
      c.noalias() = a * b;
      g_keep = g_keep + c(0, 0);
    }));
    pk.flops_per_s = 2.0 * n * n * n / gemm_s;
    const size_t bytes = size_t(quick ? 32 : 128) << 20;
    std::vector<float> buf(bytes / 4, 1.0f);
    float got = 0;
    const double read_s = best(times_s(quick ? 2 : 5, [&] {
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (size_t i = 0; i + 8 <= buf.size(); i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += buf[i + k];
      got = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    }));
    if (std::abs(got - float(buf.size())) > 0.01f * float(buf.size())) throw Error("CPU stream read: wrong sum");
    g_keep = g_keep + got;
    pk.bytes_per_s = double(bytes) / read_s;
    pk.how = "measured on this host: best of an Eigen float32 " + std::to_string(n) + "^3 GEMM and a " +
             std::to_string(bytes >> 20) + " MiB streaming read (one thread)";
    return pk;
  }

 private:
  struct Work {
    const GemmProblem& p;
    std::vector<Eigen::MatrixXf> x, w, y;
    explicit Work(const GemmProblem& prob) : p(prob) {
      RIDGELINE_CHECK(p.dtype == "fp32", "the CPU grouped GEMM runs fp32 only");
      for (int m : p.tokens) {
        x.push_back(Eigen::MatrixXf::Random(std::max(m, 0), p.hidden));
        // An idle expert keeps an empty weight matrix: its weights are never read.
        w.push_back(m > 0 ? Eigen::MatrixXf::Random(p.hidden, p.intermediate) : Eigen::MatrixXf());
        y.emplace_back(std::max(m, 0), p.intermediate);
      }
    }
    void run() {
      for (size_t e = 0; e < x.size(); ++e)
        if (p.tokens[e] > 0) {
          y[e].noalias() = x[e] * w[e];
          g_keep = g_keep + y[e](0, 0);
        }
    }
  };
  int threads_;
  int splits_;
};

}  // namespace

std::unique_ptr<KernelBackend> make_cpu_kernels(int threads, int splits) {
  return std::make_unique<CpuKernels>(threads, splits);
}

}  // namespace ridgeline::calib
