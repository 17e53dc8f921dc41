// SPDX-License-Identifier: Apache-2.0
#include "svg_heatmap.hpp"
#include "xml_escape.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ridgeline::report {

namespace {

std::string escape(const std::string& s) { return xml_escape(s); }

/// Diverging colour: log2(v) in [-1, 1] (0.5x .. 2x) from blue (< 1) through white to orange (> 1).
std::string cell_colour(double v) {
  if (!(v > 0)) return "#d0d0d0";
  const double t = std::clamp(std::log2(v), -1.0, 1.0);
  const int lo[3] = {49, 130, 189}, hi[3] = {230, 85, 13};
  const int* end = t < 0 ? lo : hi;
  const double a = std::abs(t);
  int rgb[3];
  for (int i = 0; i < 3; ++i) rgb[i] = int(std::lround(255 + (end[i] - 255) * a));
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

}  // namespace

std::string heatmap_svg(const Heatmap& h) {
  const int cell_w = 90, cell_h = 36, left = 120, top = 60;
  const int cols = int(h.x_labels.size()), rows = int(h.y_labels.size());
  const int width = left + cols * cell_w + 40, height = top + rows * cell_h + 90;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height, width, height);
  s += fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"white\"/>\n", width, height);
  s += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n", width / 2,
                   escape(h.title));
  s += fmt::format("<text x=\"{}\" y=\"44\" text-anchor=\"middle\">{}</text>\n", left + cols * cell_w / 2,
                   escape(h.x_title));
  s += fmt::format("<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">{}</text>\n",
                   top + rows * cell_h / 2, top + rows * cell_h / 2, escape(h.y_title));
  for (int c = 0; c < cols; ++c)
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + c * cell_w + cell_w / 2,
                     top - 4, escape(h.x_labels[c]));
  for (int r = 0; r < rows; ++r) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 6,
                     top + r * cell_h + cell_h / 2 + 4, escape(h.y_labels[r]));
    for (int c = 0; c < cols; ++c) {
      const double v = r < int(h.values.size()) && c < int(h.values[r].size()) ? h.values[r][c] : 0;
      const bool has = v > 0;
      s += fmt::format(
          "<rect class=\"cell\" data-row=\"{}\" data-col=\"{}\" data-value=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" "
          "height=\"{}\" fill=\"{}\" stroke=\"white\"/>\n",
          r, c, has ? fmt::format("{:.4g}", v) : std::string("none"), left + c * cell_w, top + r * cell_h, cell_w,
          cell_h, cell_colour(v));
      s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + c * cell_w + cell_w / 2,
                       top + r * cell_h + cell_h / 2 + 4, has ? fmt::format("{:.2f}", v) : std::string("n/a"));
    }
  }
  const int ly = top + rows * cell_h + 30;
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{}\"/>\n", left, ly, cell_colour(0.5));
  s += fmt::format("<text x=\"{}\" y=\"{}\">&lt; 1: {}</text>\n", left + 20, ly + 12, escape(h.below_one_label));
  s +=
      fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{}\"/>\n", left + 170, ly, cell_colour(2));
  s += fmt::format("<text x=\"{}\" y=\"{}\">&gt; 1: {}</text>\n", left + 190, ly + 12, escape(h.above_one_label));
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" fill=\"#555\">n/a: no feasible plan of one strategy; colour saturates at "
      "0.5x and 2x</text>\n",
      left, ly + 34);
  s += "</svg>\n";
  return s;
}

}  // namespace ridgeline::report
