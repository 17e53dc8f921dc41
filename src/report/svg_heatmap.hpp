// SPDX-License-Identifier: Apache-2.0
// A small, dependency-free SVG heatmap for `ridgeline compare`: a grid of cells coloured on a
// diverging log scale around 1 (ratio < 1 one colour, > 1 another), each cell labelled with its
// value and carrying data-row / data-col / data-value attributes so tests can read it back. A cell
// without a ratio because only one strategy is feasible is drawn in that strategy's colour,
// hatched, and labelled "<name> only". The canvas is sized from the estimated width of its text
// (text_width_px), so no label is clipped.
#pragma once
#include <string>
#include <vector>

namespace ridgeline::report {

struct Heatmap {
  std::string title;
  std::string x_title, y_title;
  std::vector<std::string> x_labels, y_labels;  ///< columns, rows
  std::vector<std::vector<double>> values;      ///< [row][col]; non-positive or NaN: no ratio
  /// [row][col] for cells without a ratio: +1 only the "above one" strategy (AFD) is feasible,
  /// -1 only the "below one" strategy (EP), 0 (or missing) neither.
  std::vector<std::vector<int>> only;
  std::string below_one_name = "EP", above_one_name = "AFD";
};

/// The heatmap as SVG text (well-formed XML; every label escaped).
std::string heatmap_svg(const Heatmap& h);

}  // namespace ridgeline::report
