// SPDX-License-Identifier: Apache-2.0
// A small, dependency-free SVG line chart: linear or log axes, one <polyline> per series (with
// data-series and data-points attributes so tests and scripts can read the chart back), shaded
// vertical bands (e.g. the AFD dead zone), axis labels, ticks and a legend; and a small-multiples
// figure (a grid of panels on shared axes with one legend). Output is well-formed XML (every text
// is escaped) and opens in any browser.
//
// Layout never clips text: the canvas and its margins are computed from an estimated text width
// (text_width_px: font size x characters x 0.6, a safe average for sans-serif), long titles wrap
// and then shrink, and the legend column is as wide as its longest entry.
//
// Series stay distinguishable: each has a colour, a dash pattern and a marker shape; automatic
// styles cycle through 10 colours x 4 dash patterns x 6 markers, and render() changes the marker
// (then the dash) of any series whose style repeats an earlier one. Series whose points coincide
// with an earlier series' (to within a pixel) are drawn a few pixels lower and listed in a
// footnote, so no line hides another.
#pragma once
#include <string>
#include <vector>

namespace ridgeline::report {

struct SvgSeries {
  std::string name;
  std::vector<double> x, y;  ///< same length; non-positive values are skipped on a log axis
  std::string color;         ///< empty: picked from the palette
  int dash = -1;             ///< 0 solid, 1..3 dash patterns (dash_pattern); -1: automatic
  int marker = -1;           ///< 0 none, 1..5 circle, square, triangle, diamond, inverted triangle; -1: automatic
};

/// A shaded vertical band from x0 to x1 (in data units).
struct SvgBand {
  double x0 = 0, x1 = 0;
  std::string label;
  std::string color = "#f4cccc";
};

struct SvgChart {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  /// Fixed y range (data units); both 0 = from the data.
  double y_min = 0, y_max = 0;
  std::vector<SvgSeries> series;
  std::vector<SvgBand> bands;
  std::string render() const;
};

/// Small multiples: one figure of panels (each an SvgChart whose title is the panel's caption and
/// whose series and bands are drawn; its axis labels and log flags are ignored) on one shared x and
/// y range, with one legend. A series keeps its style in every panel (styles are assigned by name).
struct SvgPanels {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  double y_min = 0, y_max = 0;  ///< fixed shared y range; both 0 = from all panels' data
  int columns = 4;
  std::vector<SvgChart> panels;
  std::string render() const;
};

/// The palette colour of index i (cycles through 10 colours).
std::string palette_color(int i);

/// The SVG stroke-dasharray of dash index 1..3 ("" for 0 = solid).
std::string dash_pattern(int dash);

/// Estimated rendered width of `text` (UTF-8; counts code points) at `font_px` in a sans-serif font.
double text_width_px(const std::string& text, double font_px);

/// Text fitted into a width: wrapped at spaces (when `wrap`), then shrunk so the widest line fits,
/// and only below 8 px cut with an ellipsis.
struct FittedText {
  std::vector<std::string> lines;
  double font = 12;
  double height() const { return double(lines.size()) * font * 1.25; }  ///< line height 1.25 em
};
FittedText fit_text(const std::string& text, double max_w, double font_px, bool wrap);

/// Writes `text` to `path`; throws ridgeline::Error naming the path and the fix on failure.
void write_text_file(const std::string& path, const std::string& text, const char* flag);

}  // namespace ridgeline::report
