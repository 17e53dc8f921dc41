// SPDX-License-Identifier: Apache-2.0
#include "svg_heatmap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "svg_chart.hpp"
#include "xml_escape.hpp"

namespace ridgeline::report {

namespace {

std::string escape(const std::string& s) {
  return xml_escape(s);
}

constexpr double kFont = 12, kTitleFont = 15, kPad = 10;

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

double widest(const std::vector<std::string>& v, double font) {
  double w = 0;
  for (const auto& s : v) w = std::max(w, text_width_px(s, font));
  return w;
}

/// Font size at which `s` fits in `max_w` (never above `font`, never below 7).
double fitting_font(const std::string& s, double max_w, double font) {
  const double w = text_width_px(s, font);
  return w > max_w ? std::max(7.0, std::floor(font * max_w / w * 10) / 10) : font;
}

}  // namespace

std::string heatmap_svg(const Heatmap& h) {
  const int cols = int(h.x_labels.size()), rows = int(h.y_labels.size());
  const std::string below_only = h.below_one_name + " only", above_only = h.above_one_name + " only";
  const std::vector<std::string> legend = {
      "< 1: " + h.below_one_name + " wins", "> 1: " + h.above_one_name + " wins",
      below_only + " / " + above_only + ": the other has no feasible plan (hatched)",
      "n/a: neither has a feasible plan; colour saturates at 0.5x and 2x"};
  // Cells as wide as their widest label ("0.00", "AFD only", a column header).
  const double cell_w =
      std::ceil(std::max({90.0, widest(h.x_labels, kFont) + 12, widest({below_only, above_only}, kFont) + 12}));
  const double cell_h = 36;
  const double left = std::ceil(kPad + kFont * 1.25 + 8 + widest(h.y_labels, kFont) + 6);
  const double grid_w = cols * cell_w, grid_h = rows * cell_h;
  double width = left + grid_w + 2 * kPad;
  width = std::max(width, 2 * kPad + widest(legend, kFont));
  width = std::max(width, 2 * kPad + text_width_px(h.x_title, kFont));
  width = std::ceil(std::max(width, 2 * kPad + std::min(text_width_px(h.title, kTitleFont), 900.0)));
  const FittedText title = fit_text(h.title, width - 2 * kPad, kTitleFont, true);  // long titles wrap
  const double top = kPad + title.height() + 48;
  const double height = std::ceil(top + std::max(grid_h, text_width_px(h.y_title, kFont) + 4) + 30 + 4 * 18 + kPad);
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:g}\" height=\"{1:g}\" viewBox=\"0 0 {0:g} {1:g}\" "
      "font-family=\"sans-serif\" font-size=\"{2:g}\">\n",
      width, height, kFont);
  s += "<defs><pattern id=\"only\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
       "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"white\" "
       "stroke-width=\"2\" stroke-opacity=\"0.6\"/></pattern></defs>\n";
  s += fmt::format("<rect width=\"{:g}\" height=\"{:g}\" fill=\"white\"/>\n", width, height);
  for (size_t i = 0; i < title.lines.size(); ++i)
    s +=
        fmt::format("<text class=\"title\" x=\"{:g}\" y=\"{:g}\" font-size=\"{:g}\" text-anchor=\"middle\">{}</text>\n",
                    width / 2, kPad + title.font + double(i) * title.font * 1.25, title.font, escape(title.lines[i]));
  const double xt_w = text_width_px(h.x_title, kFont);
  const double xt_c = std::clamp(left + grid_w / 2, kPad + xt_w / 2, width - kPad - xt_w / 2);
  s += fmt::format("<text class=\"xlabel\" x=\"{:g}\" y=\"{:g}\" text-anchor=\"middle\">{}</text>\n", xt_c, top - 22,
                   escape(h.x_title));
  const double ymid = top + std::max(grid_h, text_width_px(h.y_title, kFont) + 4) / 2;
  s += fmt::format(
      "<text class=\"ylabel\" x=\"{0:g}\" y=\"{1:g}\" transform=\"rotate(-90 {0:g} {1:g})\" "
      "text-anchor=\"middle\">{2}</text>\n",
      kPad + kFont, ymid, escape(h.y_title));
  for (int c = 0; c < cols; ++c)
    s += fmt::format("<text class=\"xtick\" x=\"{:g}\" y=\"{:g}\" text-anchor=\"middle\">{}</text>\n",
                     left + c * cell_w + cell_w / 2, top - 4, escape(h.x_labels[size_t(c)]));
  for (int r = 0; r < rows; ++r) {
    s += fmt::format("<text class=\"ytick\" x=\"{:g}\" y=\"{:g}\" text-anchor=\"end\">{}</text>\n", left - 6,
                     top + r * cell_h + cell_h / 2 + 4, escape(h.y_labels[size_t(r)]));
    for (int c = 0; c < cols; ++c) {
      const double v =
          r < int(h.values.size()) && c < int(h.values[size_t(r)].size()) ? h.values[size_t(r)][size_t(c)] : 0;
      const int only = r < int(h.only.size()) && c < int(h.only[size_t(r)].size()) ? h.only[size_t(r)][size_t(c)] : 0;
      const bool has = v > 0;
      std::string fill = cell_colour(v), label = "n/a", kind = "none";
      if (has) {
        label = fmt::format("{:.2f}", v);
        kind = "ratio";
      } else if (only > 0) {
        fill = cell_colour(2);
        label = above_only;
        kind = "above-only";
      } else if (only < 0) {
        fill = cell_colour(0.5);
        label = below_only;
        kind = "below-only";
      }
      const double x = left + c * cell_w, y = top + r * cell_h;
      s += fmt::format(
          "<rect class=\"cell\" data-row=\"{}\" data-col=\"{}\" data-value=\"{}\" data-kind=\"{}\" x=\"{:g}\" "
          "y=\"{:g}\" width=\"{:g}\" height=\"{:g}\" fill=\"{}\" stroke=\"white\"/>\n",
          r, c, has ? fmt::format("{:.4g}", v) : std::string("none"), kind, x, y, cell_w, cell_h, fill);
      if (!has && only != 0)
        s += fmt::format("<rect x=\"{:g}\" y=\"{:g}\" width=\"{:g}\" height=\"{:g}\" fill=\"url(#only)\"/>\n", x, y,
                         cell_w, cell_h);
      s += fmt::format("<text class=\"cell-label\" x=\"{:g}\" y=\"{:g}\" text-anchor=\"middle\"{}>{}</text>\n",
                       x + cell_w / 2, y + cell_h / 2 + 4, only != 0 && !has ? " font-weight=\"bold\"" : "",
                       escape(label));
    }
  }
  // Legend, one entry a line.
  const double ly = top + std::max(grid_h, text_width_px(h.y_title, kFont) + 4) + 20;
  const std::string swatches[] = {cell_colour(0.5), cell_colour(2), "url(#only)", cell_colour(0)};
  for (size_t i = 0; i < legend.size(); ++i) {
    const double y = ly + 18 * double(i);
    if (i == 2)  // the hatched swatch: both colours under the hatch
      s += fmt::format(
          "<rect x=\"{0:g}\" y=\"{1:g}\" width=\"7\" height=\"14\" fill=\"{2}\"/><rect x=\"{3:g}\" y=\"{1:g}\" "
          "width=\"7\" height=\"14\" fill=\"{4}\"/><rect x=\"{0:g}\" y=\"{1:g}\" width=\"14\" height=\"14\" "
          "fill=\"url(#only)\"/>\n",
          kPad, y, cell_colour(0.5), kPad + 7, cell_colour(2));
    else
      s += fmt::format("<rect x=\"{:g}\" y=\"{:g}\" width=\"14\" height=\"14\" fill=\"{}\"/>\n", kPad, y, swatches[i]);
    const double font = fitting_font(legend[i], width - 2 * kPad - 20, kFont);
    s += fmt::format("<text class=\"legend\" x=\"{:g}\" y=\"{:g}\" font-size=\"{:g}\">{}</text>\n", kPad + 20, y + 12,
                     font, escape(legend[i]));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace ridgeline::report
