// SPDX-License-Identifier: Apache-2.0
// The SVG writer emits well-formed XML with one <polyline> per series holding every point.
#include <catch2/catch.hpp>
#include <map>
#include <regex>

#include "report/svg_chart.hpp"

using namespace ridgeline;

namespace {

/// A tiny XML well-formedness check: balanced tags, quoted attributes, no raw '<' or '&' in
/// text. Returns "" when well-formed, else what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      if (semi == std::string::npos || semi - i > 8) return "raw & at " + std::to_string(i);
      i = semi + 1;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    if (s.compare(i, 5, "<?xml") == 0) {
      const size_t e = s.find("?>", i);
      if (e == std::string::npos) return "unterminated declaration";
      i = e + 2;
      continue;
    }
    const size_t e = s.find('>', i);
    if (e == std::string::npos) return "unterminated tag";
    std::string tag = s.substr(i + 1, e - i - 1);
    // Attribute values may not contain '<'; quotes must pair.
    if (tag.find('<') != std::string::npos) return "'<' inside a tag at " + std::to_string(i);
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return "unbalanced quotes in <" + tag + ">";
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
    } else if (!tag.empty() && tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
    }
    i = e + 1;
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

}  // namespace

TEST_CASE("SVG chart: well-formed, one polyline per series with all its points, labels, bands", "[svg]") {
  report::SvgChart c;
  c.title = "roof <&> \"test\"";
  c.x_label = "N_F";
  c.y_label = "HFU";
  c.log_x = c.log_y = true;
  c.series.push_back({"ceiling", {1, 2, 4, 8, 16}, {0.33, 0.33, 0.2, 0.1, 0.1}, "", false, true});
  c.series.push_back({"roof & more", {1, 16}, {1, 1}, "#000", true, false});
  c.bands.push_back({8, 16, "dead zone", "#f4cccc"});
  const std::string svg = c.render();
  CHECK(xml_problem(svg).empty());
  INFO(xml_problem(svg));
  CHECK(svg.find("<svg") != std::string::npos);
  const std::regex poly("<polyline data-series=\"([^\"]*)\" data-points=\"(\\d+)\"[^>]*points=\"([^\"]*)\"");
  std::map<std::string, int> points;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), poly); it != std::sregex_iterator(); ++it) {
    const std::string coords = (*it)[3];
    const int n = int(std::count(coords.begin(), coords.end(), ','));
    CHECK(n == std::stoi((*it)[2]));
    points[(*it)[1]] = n;
  }
  CHECK(points["ceiling"] == 5);
  CHECK(points["roof &amp; more"] == 2);
  CHECK(svg.find("data-band=\"dead zone\"") != std::string::npos);
  CHECK(svg.find(">N_F</text>") != std::string::npos);
  CHECK(svg.find(">HFU</text>") != std::string::npos);
  CHECK(svg.find("roof &lt;&amp;&gt; &quot;test&quot;") != std::string::npos);
}

TEST_CASE("SVG chart: a log axis skips non-positive values instead of emitting NaN", "[svg]") {
  report::SvgChart c;
  c.log_y = true;
  c.series.push_back({"s", {1, 2, 3}, {0.0, 0.5, 1.0}, "", false, true});
  const std::string svg = c.render();
  CHECK(xml_problem(svg).empty());
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("data-points=\"2\"") != std::string::npos);
}

TEST_CASE("SVG chart: writing to a bad path names the flag and the fix", "[svg]") {
  CHECK_THROWS_WITH(report::write_text_file("/nonexistent-dir/x.svg", "x", "--svg"),
                    Catch::Contains("--svg") && Catch::Contains("Fix"));
}
