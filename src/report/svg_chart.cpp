// SPDX-License-Identifier: Apache-2.0
#include "svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "io/files.hpp"
#include "ridgeline/error.hpp"
#include "xml_escape.hpp"

namespace ridgeline::report {

namespace {

constexpr double kWidth = 860, kHeight = 520;
constexpr double kLeft = 80, kRight = 230, kTop = 50, kBottom = 60;  // margins; legend on the right
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) { return xml_escape(s); }

/// Maps data values to pixels on one axis.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double p0 = 0, p1 = 1;  ///< pixel of lo and hi
  double t(double v) const { return log ? std::log10(v) : v; }
  double px(double v) const {
    const double a = t(lo), b = t(hi);
    return p0 + (t(v) - a) / (b - a) * (p1 - p0);
  }
  bool usable(double v) const { return std::isfinite(v) && (!log || v > 0); }
  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      for (double d = std::floor(std::log10(lo)); d <= std::ceil(std::log10(hi)); d += 1) {
        for (double m : {1.0, 2.0, 5.0}) {
          const double v = m * std::pow(10.0, d);
          if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push_back(v);
        }
      }
    } else {
      const double span = hi - lo, raw = span / 6;
      const double mag = std::pow(10.0, std::floor(std::log10(raw)));
      double step = mag;
      for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
          step = m * mag;
          break;
        }
      for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push_back(v);
    }
    return out;
  }
};

std::string tick_label(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e4 || a < 1e-3) return fmt::format("{:.0e}", v);
  return fmt::format("{:g}", v);
}

Axis make_axis(const std::vector<double>& values, bool log, double fixed_lo, double fixed_hi) {
  Axis ax;
  ax.log = log;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values)
    if (ax.usable(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (fixed_lo != 0 || fixed_hi != 0) {
    lo = fixed_lo;
    hi = fixed_hi;
  }
  if (!std::isfinite(lo)) lo = log ? 1 : 0, hi = log ? 10 : 1;
  if (hi <= lo) hi = log ? lo * 10 : lo + 1;
  if (log) {  // pad to whole decades-ish for readable ticks
    lo = std::pow(10.0, std::floor(std::log10(lo) * 4) / 4);
    hi = std::pow(10.0, std::ceil(std::log10(hi) * 4) / 4);
  } else if (fixed_lo == 0 && fixed_hi == 0) {
    const double pad = 0.05 * (hi - lo);
    lo = lo >= 0 && lo - pad < 0 ? 0 : lo - pad;
    hi += pad;
  }
  ax.lo = lo;
  ax.hi = hi;
  return ax;
}

}  // namespace

std::string SvgChart::render() const {
  std::vector<double> xs, ys;
  for (const auto& s : series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  Axis ax = make_axis(xs, log_x, 0, 0), ay = make_axis(ys, log_y, y_min, y_max);
  ax.p0 = kLeft;
  ax.p1 = kWidth - kRight;
  ay.p0 = kHeight - kBottom;
  ay.p1 = kTop;
  std::string o;
  o += fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      kWidth, kHeight);
  o += fmt::format("<title>{}</title>\n<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>\n",
                   escape(title), kWidth, kHeight);
  // Bands first, under everything else.
  for (const auto& b : bands) {
    const double x0 = std::clamp(ax.px(std::max(b.x0, ax.lo)), ax.p0, ax.p1);
    const double x1 = std::clamp(ax.px(std::min(b.x1, ax.hi)), ax.p0, ax.p1);
    if (x1 <= x0) continue;
    o += fmt::format(
        "<g class=\"band\" data-band=\"{0}\"><rect x=\"{1:.1f}\" y=\"{2:.1f}\" width=\"{3:.1f}\" height=\"{4:.1f}\" "
        "fill=\"{5}\" fill-opacity=\"0.6\"/><text x=\"{6:.1f}\" y=\"{7:.1f}\" text-anchor=\"middle\" "
        "fill=\"#990000\">{0}</text></g>\n",
        escape(b.label), x0, ay.p1, x1 - x0, ay.p0 - ay.p1, escape(b.color), (x0 + x1) / 2, ay.p1 + 14);
  }
  // Axes, grid and ticks.
  o += fmt::format(
      "<g class=\"axes\" stroke=\"#333\"><line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>"
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{3}\"/></g>\n",
      ax.p0, ay.p0, ax.p1, ay.p1);
  for (double v : ax.ticks()) {
    const double x = ax.px(v);
    o += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
        "<text class=\"xtick\" x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        x, ay.p0, ay.p1, ay.p0 + 16, tick_label(v));
  }
  for (double v : ay.ticks()) {
    const double y = ay.px(v);
    o += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text class=\"ytick\" x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
        ax.p0, y, ax.p1, ax.p0 - 6, y + 4, tick_label(v));
  }
  o += fmt::format("<text class=\"title\" x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
                   (ax.p0 + ax.p1) / 2, escape(title));
  o += fmt::format("<text class=\"xlabel\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (ax.p0 + ax.p1) / 2,
                   kHeight - 18, escape(x_label));
  o += fmt::format(
      "<text class=\"ylabel\" x=\"20\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 20 {0})\">{1}</text>\n",
      (ay.p0 + ay.p1) / 2, escape(y_label));
  // Series.
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const std::string color = s.color.empty() ? kPalette[i % std::size(kPalette)] : s.color;
    std::string pts;
    int n = 0;
    for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if (!ax.usable(s.x[k]) || !ay.usable(s.y[k])) continue;
      pts += fmt::format("{}{:.2f},{:.2f}", n ? " " : "", ax.px(s.x[k]), ay.px(s.y[k]));
      ++n;
    }
    o += fmt::format("<g class=\"series\" data-series=\"{}\">\n", escape(s.name));
    o += fmt::format(
        "<polyline data-series=\"{}\" data-points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} "
        "points=\"{}\"/>\n",
        escape(s.name), n, color, s.dashed ? " stroke-dasharray=\"6 4\"" : "", pts);
    if (s.markers)
      for (size_t k = 0; k < s.x.size() && k < s.y.size(); ++k)
        if (ax.usable(s.x[k]) && ay.usable(s.y[k]))
          o += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"2.5\" fill=\"{}\"/>", ax.px(s.x[k]), ay.px(s.y[k]),
                           color);
    o += "\n</g>\n";
    // Legend entry.
    const double ly = kTop + 16 * double(i);
    o += fmt::format(
        "<g class=\"legend\"><line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" "
        "stroke-width=\"2\"{4}/><text x=\"{5}\" y=\"{6}\">{7}</text></g>\n",
        ax.p1 + 12, ly, ax.p1 + 36, color, s.dashed ? " stroke-dasharray=\"6 4\"" : "", ax.p1 + 42, ly + 4,
        escape(s.name));
  }
  o += "</svg>\n";
  return o;
}

void write_text_file(const std::string& path, const std::string& text, const char* flag) {
  io::write_file_atomic(path, text, flag);  // temp file + rename: never a truncated file
}

}  // namespace ridgeline::report
