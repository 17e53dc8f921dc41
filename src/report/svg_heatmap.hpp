// SPDX-License-Identifier: Apache-2.0
// A small, dependency-free SVG heatmap for `ridgeline compare`: a grid of cells coloured on a
// diverging log scale around 1 (ratio < 1 one colour, > 1 another), each cell labelled with its
// value and carrying data-row / data-col / data-value attributes so tests can read it back.
#pragma once
#include <string>
#include <vector>

namespace ridgeline::report {

struct Heatmap {
  std::string title;
  std::string x_title, y_title;
  std::vector<std::string> x_labels, y_labels;  ///< columns, rows
  std::vector<std::vector<double>> values;      ///< [row][col]; non-positive or NaN: no data (grey)
  std::string below_one_label = "EP wins", above_one_label = "AFD wins";
};

/// The heatmap as SVG text (well-formed XML; every label escaped).
std::string heatmap_svg(const Heatmap& h);

}  // namespace ridgeline::report
