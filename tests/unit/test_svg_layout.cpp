// SPDX-License-Identifier: Apache-2.0
// SVG layout: no text leaves the canvas at any title / label / legend length (text width
// estimated as font-size x characters x 0.6, honouring text-anchor and rotate(-90)); series
// styles (colour + dash + marker) are pairwise distinct; coinciding series are offset and noted;
// small multiples share one y range; heatmap cells with one feasible strategy say so.
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <tuple>

#include "report/svg_chart.hpp"
#include "report/svg_heatmap.hpp"

using namespace ridgeline;

namespace {

std::string attr(const std::string& tag, const std::string& name) {
  const std::regex re("\\s" + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(tag, m, re) ? m[1].str() : "";
}

size_t decoded_chars(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (s[i] == '&') i = s.find(';', i);  // one entity = one character
    ++n;
  }
  return n;
}

/// Every <text> that leaves the canvas, described; empty when all fit.
std::vector<std::string> overflowing_text(const std::string& svg) {
  const std::string head = svg.substr(svg.find("<svg"), svg.find('>', svg.find("<svg")) - svg.find("<svg"));
  const double W = std::stod(attr(head, "width")), H = std::stod(attr(head, "height"));
  const double base = std::stod(attr(head, "font-size"));
  std::vector<std::string> out;
  const std::regex text_re("<text([^>]*)>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text_re); it != std::sregex_iterator(); ++it) {
    const std::string tag = (*it)[1], body = (*it)[2];
    if (body.empty()) continue;
    const double fs = attr(tag, "font-size").empty() ? base : std::stod(attr(tag, "font-size"));
    const double w = 0.6 * fs * double(decoded_chars(body));
    const double x = std::stod(attr(tag, "x")), y = std::stod(attr(tag, "y"));
    const std::string anchor = attr(tag, "text-anchor");
    const double lo = anchor == "middle" ? -w / 2 : anchor == "end" ? -w : 0;
    double x0 = x + lo, x1 = x + lo + w, y0 = y - 0.8 * fs, y1 = y + 0.2 * fs;
    if (attr(tag, "transform").find("rotate(-90") != std::string::npos) {
      x0 = x - 0.8 * fs;
      x1 = x + 0.2 * fs;
      y0 = y - lo - w;
      y1 = y - lo;
    }
    if (x0 < -0.01 || x1 > W + 0.01 || y0 < -0.01 || y1 > H + 0.01)
      out.push_back(body.substr(0, 40) + " at x " + std::to_string(x0) + ".." + std::to_string(x1));
  }
  return out;
}

/// (stroke, dasharray, marker) per series name, from the polylines.
std::map<std::string, std::tuple<std::string, std::string, std::string>> series_styles(const std::string& svg) {
  std::map<std::string, std::tuple<std::string, std::string, std::string>> out;
  const std::regex re("<polyline([^>]*)/>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it) {
    const std::string tag = (*it)[1];
    out.emplace(attr(tag, "data-series"),
                std::make_tuple(attr(tag, "stroke"), attr(tag, "stroke-dasharray"), attr(tag, "data-marker")));
  }
  return out;
}

bool styles_distinct(const std::map<std::string, std::tuple<std::string, std::string, std::string>>& styles) {
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& [name, st] : styles)
    if (!seen.insert(st).second) return false;
  return true;
}

std::string long_text(const std::string& stem, int words) {
  std::string s = stem;
  for (int i = 0; i < words; ++i) s += " word" + std::to_string(i);
  return s;
}

}  // namespace

TEST_CASE("SVG layout: no text leaves the canvas, whatever the title and legend lengths", "[svg]") {
  for (int words : {0, 5, 20, 80}) {
    for (bool log : {false, true}) {
      report::SvgChart c;
      c.title = long_text("A title", words);
      c.x_label = long_text("x label", words);
      c.y_label = long_text("y label", words / 4);
      c.log_x = c.log_y = log;
      for (int i = 0; i < 20; ++i)
        c.series.push_back({long_text("series " + std::to_string(i), words / 10),
                            {1, 10, 100, 1000},
                            {1e-3 * (i + 1), 0.5 * (i + 1), 20000.0 * (i + 1), 1e5},
                            "",
                            -1,
                            -1});
      c.bands.push_back({500, 1000, long_text("a band label", words), "#f4cccc"});
      const std::string svg = c.render();
      INFO("words " << words << " log " << log);
      const auto over = overflowing_text(svg);
      CHECK(over.empty());
      if (!over.empty()) INFO(over.front());
      CHECK(series_styles(svg).size() == 20);
      CHECK(styles_distinct(series_styles(svg)));
      CHECK(svg.find("class=\"title\"") != std::string::npos);
    }
  }
}

TEST_CASE("SVG layout: explicitly repeated styles are made distinct", "[svg]") {
  report::SvgChart c;
  for (int i = 0; i < 16; ++i)  // 16 series all asking for one colour, solid, no marker
    c.series.push_back({"s" + std::to_string(i), {1, 2}, {double(i), double(i) + 1}, "#d62728", 0, 0});
  const auto styles = series_styles(c.render());
  CHECK(styles.size() == 16);
  CHECK(styles_distinct(styles));
}

TEST_CASE("SVG layout: a series hidden under another is offset and noted", "[svg]") {
  report::SvgChart c;
  c.series.push_back({"first", {1, 2, 3}, {1, 2, 3}, "", -1, -1});
  c.series.push_back({"second", {1, 2, 3}, {1, 2, 3}, "", -1, -1});  // identical points
  c.series.push_back({"third", {1, 2, 3}, {3, 1, 2}, "", -1, -1});   // different
  const std::string svg = c.render();
  CHECK(svg.find("data-series=\"second\" data-offset-px=\"2.5\"") != std::string::npos);
  CHECK(svg.find("data-series=\"third\" data-offset-px") == std::string::npos);
  CHECK(svg.find("second coincides with first; drawn 2.5 px lower") != std::string::npos);
  CHECK(overflowing_text(svg).empty());
}

TEST_CASE("SVG layout: small multiples share one y range and one legend", "[svg]") {
  report::SvgPanels p;
  p.title = long_text("Eight panels", 30);
  p.x_label = "N_F";
  p.y_label = "HFU";
  p.log_x = p.log_y = true;
  for (int k = 0; k < 8; ++k) {
    report::SvgChart panel;
    panel.title = "platform " + std::to_string(k);
    for (int i = 0; i < 6; ++i)
      panel.series.push_back(
          {"model " + std::to_string(i), {1, 2, 4, 8}, {0.1 * (k + 1), 0.05 * (i + 1), 0.2, 0.1}, "", -1, -1});
    p.panels.push_back(panel);
  }
  const std::string svg = p.render();
  CHECK(overflowing_text(svg).empty());
  size_t panels = 0, legend = 0;
  for (size_t at = svg.find("class=\"panel\""); at != std::string::npos; at = svg.find("class=\"panel\"", at + 1))
    ++panels;
  for (size_t at = svg.find("class=\"legend\""); at != std::string::npos; at = svg.find("class=\"legend\"", at + 1))
    ++legend;
  CHECK(panels == 8);
  CHECK(legend == 6);  // one entry per model, not per panel
  CHECK(styles_distinct(series_styles(svg)));
  // Shared y range: the y tick labels (first column only) are the same in both rows.
  const std::regex ytick("class=\"ytick\"[^>]*>([^<]*)<");
  std::vector<std::string> labels;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), ytick); it != std::sregex_iterator(); ++it)
    labels.push_back((*it)[1]);
  REQUIRE(labels.size() % 2 == 0);
  REQUIRE(!labels.empty());
  CHECK(std::equal(labels.begin(), labels.begin() + long(labels.size() / 2), labels.begin() + long(labels.size() / 2)));
}

TEST_CASE("SVG heatmap: cells with one feasible strategy say which; long text fits", "[svg]") {
  report::Heatmap h;
  h.title = long_text("AFD / EP best throughput for a model on a long list of platforms", 40);
  h.x_title = "TPOT SLO";
  h.y_title = "context (tokens)";
  h.x_labels = {"20 ms", "50 ms", "a much longer column label"};
  h.y_labels = {"2048", "131072"};
  h.values = {{0.8, 0, 0}, {1.3, 0, 0}};
  h.only = {{0, 1, -1}, {0, 0, 0}};
  const std::string svg = report::heatmap_svg(h);
  CHECK(overflowing_text(svg).empty());
  CHECK(svg.find(">AFD only</text>") != std::string::npos);
  CHECK(svg.find(">EP only</text>") != std::string::npos);
  CHECK(svg.find("data-kind=\"above-only\"") != std::string::npos);
  CHECK(svg.find("data-kind=\"below-only\"") != std::string::npos);
  CHECK(svg.find("data-kind=\"none\"") != std::string::npos);  // row 1: neither feasible
  CHECK(svg.find(">0.80</text>") != std::string::npos);
}
