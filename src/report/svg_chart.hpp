// SPDX-License-Identifier: Apache-2.0
// A small, dependency-free SVG line chart: linear or log axes, one <polyline> per series (with
// data-series and data-points attributes so tests and scripts can read the chart back), shaded
// vertical bands (e.g. the AFD dead zone), axis labels, ticks and a legend. Output is
// well-formed XML (every text is escaped) and opens in any browser.
#pragma once
#include <string>
#include <vector>

namespace ridgeline::report {

struct SvgSeries {
  std::string name;
  std::vector<double> x, y;  ///< same length; non-positive values are skipped on a log axis
  std::string color;         ///< empty: picked from the palette
  bool dashed = false;
  bool markers = true;
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

/// Writes `text` to `path`; throws ridgeline::Error naming the path and the fix on failure.
void write_text_file(const std::string& path, const std::string& text, const char* flag);

}  // namespace ridgeline::report
