// SPDX-License-Identifier: Apache-2.0
#include "svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "io/files.hpp"
#include "xml_escape.hpp"

namespace ridgeline::report {

namespace {

constexpr double kFont = 12, kTitleFont = 15, kCaptionFont = 11, kMinFont = 8, kLineHeight = 1.25;
constexpr double kLegendRow = 16, kLegendSample = 30, kPad = 10;
constexpr double kCoincidentOffsetPx = 2.5;  // how far a coinciding series is drawn below the one it hides under
constexpr int kDashes = 4, kMarkers = 6;
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* const kDashPatterns[kDashes] = {"", "7 4", "2 3", "9 3 2 3"};
const char* const kMarkerNames[kMarkers] = {"none", "circle", "square", "triangle", "diamond", "triangle-down"};

std::string escape(const std::string& s) {
  return xml_escape(s);
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

/// The first `n` code points of `s`.
std::string first_code_points(const std::string& s, size_t n) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == n) return s.substr(0, i);
  return s;
}

/// Emits fitted text lines, the first baseline at `y`, anchored at `x`.
std::string text_lines(const FittedText& f, const std::string& cls, double x, double y, const char* anchor,
                       const std::string& extra = "") {
  std::string o;
  for (size_t i = 0; i < f.lines.size(); ++i)
    o += fmt::format("<text class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\" font-size=\"{:g}\"{}>{}</text>\n",
                     cls, x, y + double(i) * f.font * kLineHeight, anchor, f.font, extra, escape(f.lines[i]));
  return o;
}

/// The centre of a `w`-wide centred text as near `cx` as fits inside [lo, hi].
double clamp_centre(double cx, double w, double lo, double hi) {
  if (w >= hi - lo) return (lo + hi) / 2;
  return std::clamp(cx, lo + w / 2, hi - w / 2);
}

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
      for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step)
        out.push_back(std::abs(v) < 1e-12 * span ? 0.0 : v);
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
  if (log) {  // pad to quarter decades for readable ticks
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

struct Style {
  std::string color;
  int dash = 0, marker = 0;
  bool operator==(const Style& o) const { return color == o.color && dash == o.dash && marker == o.marker; }
};

/// One legend entry per distinct series name (first appearance order), each with a style distinct
/// from every other entry's.
struct Legend {
  std::vector<std::string> names;
  std::vector<Style> styles;
  const Style& style(const std::string& name) const {
    return styles[size_t(std::find(names.begin(), names.end(), name) - names.begin())];
  }
};

Legend make_legend(const std::vector<const SvgChart*>& panels) {
  Legend lg;
  for (const auto* p : panels)
    for (const auto& s : p->series) {
      if (std::find(lg.names.begin(), lg.names.end(), s.name) != lg.names.end()) continue;
      const int i = int(lg.names.size());
      Style st;
      st.color = s.color.empty() ? palette_color(i) : s.color;
      st.dash = s.dash >= 0 ? s.dash % kDashes : (i / 10) % kDashes;
      st.marker = s.marker >= 0 ? s.marker % kMarkers : 1 + (i + i / 40) % (kMarkers - 1);
      // A repeated style: try every other marker, then every other dash pattern.
      for (int tries = 0; tries < kDashes * kMarkers; ++tries) {
        if (std::find(lg.styles.begin(), lg.styles.end(), st) == lg.styles.end()) break;
        st.marker = (st.marker + 1) % kMarkers;
        if ((tries + 1) % kMarkers == 0) st.dash = (st.dash + 1) % kDashes;
      }
      lg.names.push_back(s.name);
      lg.styles.push_back(st);
    }
  return lg;
}

std::string marker_svg(int marker, double x, double y, const std::string& color) {
  switch (marker) {
    case 1:
      return fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\" fill=\"{}\"/>", x, y, color);
    case 2:
      return fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"6\" height=\"6\" fill=\"{}\"/>", x - 3, y - 3, color);
    case 3:
      return fmt::format("<path d=\"M{:.2f},{:.2f}L{:.2f},{:.2f}L{:.2f},{:.2f}Z\" fill=\"{}\"/>", x, y - 4, x + 3.6,
                         y + 2.6, x - 3.6, y + 2.6, color);
    case 4:
      return fmt::format("<path d=\"M{:.2f},{:.2f}L{:.2f},{:.2f}L{:.2f},{:.2f}L{:.2f},{:.2f}Z\" fill=\"{}\"/>", x,
                         y - 4.2, x + 4.2, y, x, y + 4.2, x - 4.2, y, color);
    case 5:
      return fmt::format("<path d=\"M{:.2f},{:.2f}L{:.2f},{:.2f}L{:.2f},{:.2f}Z\" fill=\"{}\"/>", x, y + 4, x + 3.6,
                         y - 2.6, x - 3.6, y - 2.6, color);
    default:
      return "";
  }
}

std::string dash_attr(int dash) {
  return dash > 0 ? fmt::format(" stroke-dasharray=\"{}\"", kDashPatterns[dash % kDashes]) : "";
}

/// A figure: one or more panels on shared axes.
struct Figure {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  double y_min = 0, y_max = 0;
  int columns = 1;
  double plot_w = 560, plot_h = 400;
  std::vector<const SvgChart*> panels;
  bool captions = false;  ///< draw each panel's title above it
};

struct Coincidence {
  std::string series, hidden_under, caption;
  int matched = 0, points = 0;
  double offset_px = 0;
};

std::string render_figure(const Figure& fig) {
  const size_t n = fig.panels.size();
  const int cols = int(std::max<size_t>(1, std::min<size_t>(size_t(std::max(1, fig.columns)), n)));
  const int rows = int((std::max<size_t>(n, 1) + size_t(cols) - 1) / size_t(cols));
  const Legend legend = make_legend(fig.panels);

  std::vector<double> xs, ys;
  for (const auto* p : fig.panels)
    for (const auto& s : p->series) {
      xs.insert(xs.end(), s.x.begin(), s.x.end());
      ys.insert(ys.end(), s.y.begin(), s.y.end());
    }
  const Axis ax0 = make_axis(xs, fig.log_x, 0, 0), ay0 = make_axis(ys, fig.log_y, fig.y_min, fig.y_max);
  const std::vector<double> xticks = ax0.ticks(), yticks = ay0.ticks();

  // Margins from the text they hold.
  double ytick_w = 0, xtick_first_w = 0, xtick_last_w = 0;
  for (double v : yticks) ytick_w = std::max(ytick_w, text_width_px(tick_label(v), kFont));
  if (!xticks.empty()) {
    xtick_first_w = text_width_px(tick_label(xticks.front()), kFont);
    xtick_last_w = text_width_px(tick_label(xticks.back()), kFont);
  }
  const double ylabel_col = kPad + kFont * kLineHeight;
  const double left = std::max(ylabel_col + 6 + ytick_w + 6, xtick_first_w / 2 + 4);
  const double gap_x = std::max(18.0, xtick_last_w / 2 + xtick_first_w / 2 + 6);
  double legend_text_w = 0;
  for (const auto& name : legend.names) legend_text_w = std::max(legend_text_w, text_width_px(name, kFont));
  const double right = std::max(12 + kLegendSample + 6 + legend_text_w + kPad, xtick_last_w / 2 + 4);
  const double grid_w = cols * fig.plot_w + (cols - 1) * gap_x;
  const double width = std::ceil(left + grid_w + right);

  const FittedText title = fit_text(fig.title, width - 2 * kPad, kTitleFont, true);
  const double top = kPad + title.height() + 8;
  // Panel captions wrap (at most 3 lines, then shrink) to the panel width.
  std::vector<FittedText> captions(n);
  double caption_h = 0;
  if (fig.captions)
    for (size_t k = 0; k < n; ++k) {
      captions[k] = fit_text(fig.panels[k]->title, fig.plot_w, kCaptionFont, true);
      if (captions[k].lines.size() > 3) {  // shrink so that it wraps into about 3 lines
        const double f = kCaptionFont * 2.7 * fig.plot_w / text_width_px(fig.panels[k]->title, kCaptionFont);
        captions[k] = fit_text(fig.panels[k]->title, fig.plot_w, std::max(kMinFont, f), true);
      }
      caption_h = std::max(caption_h, captions[k].height() + 4);
    }
  const double xtick_h = kFont + 8;
  const double cell_h = caption_h + fig.plot_h + xtick_h;
  const double grid_h = rows * cell_h + (rows - 1) * 10;

  // Series pixel positions, coincidences and their offsets, panel by panel.
  struct Drawn {
    std::vector<std::pair<double, double>> px;
  };
  std::vector<std::vector<Drawn>> drawn(n);
  std::vector<std::vector<double>> offsets(n);
  std::vector<Coincidence> coincidences;
  std::vector<Axis> pax(n), pay(n);
  for (size_t k = 0; k < n; ++k) {
    const int r = int(k) / cols, c = int(k) % cols;
    Axis ax = ax0, ay = ay0;
    ax.p0 = left + c * (fig.plot_w + gap_x);
    ax.p1 = ax.p0 + fig.plot_w;
    const double ptop = top + r * (cell_h + 10) + caption_h;
    ay.p0 = ptop + fig.plot_h;
    ay.p1 = ptop;
    pax[k] = ax;
    pay[k] = ay;
    const auto& series = fig.panels[k]->series;
    drawn[k].resize(series.size());
    offsets[k].assign(series.size(), 0);
    for (size_t i = 0; i < series.size(); ++i) {
      const auto& s = series[i];
      for (size_t j = 0; j < s.x.size() && j < s.y.size(); ++j)
        if (ax.usable(s.x[j]) && ay.usable(s.y[j])) drawn[k][i].px.emplace_back(ax.px(s.x[j]), ay.px(s.y[j]));
      // Does this series coincide with an earlier one (at least half its points within a pixel)?
      const auto& mine = drawn[k][i].px;
      if (mine.empty()) continue;
      for (size_t e = 0; e < i; ++e) {
        auto theirs = drawn[k][e].px;
        for (auto& p : theirs) p.second -= offsets[k][e];  // compare with the true positions
        std::sort(theirs.begin(), theirs.end());
        int matched = 0;
        for (const auto& p : mine) {
          auto it = std::lower_bound(theirs.begin(), theirs.end(), std::make_pair(p.first - 1.0, -1e300));
          for (; it != theirs.end() && it->first <= p.first + 1.0; ++it)
            if (std::abs(it->second - p.second) <= 1.0) {
              ++matched;
              break;
            }
        }
        if (2 * matched >= int(mine.size())) {
          offsets[k][i] = offsets[k][e] + kCoincidentOffsetPx;
          for (auto& p : drawn[k][i].px) p.second += offsets[k][i];
          coincidences.push_back(
              {s.name, series[e].name, fig.panels[k]->title, matched, int(mine.size()), offsets[k][i]});
          break;
        }
      }
    }
  }
  // Footnotes: one per pair of coinciding series, listing the panels where they coincide.
  std::vector<std::string> notes;
  {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& c : coincidences)
      if (std::find(pairs.begin(), pairs.end(), std::make_pair(c.series, c.hidden_under)) == pairs.end())
        pairs.emplace_back(c.series, c.hidden_under);
    for (const auto& [a, b] : pairs) {
      std::vector<std::string> where;
      bool all_points = true;
      double off = 0;
      for (const auto& c : coincidences)
        if (c.series == a && c.hidden_under == b) {
          where.push_back(c.caption);
          all_points = all_points && c.matched == c.points;
          off = std::max(off, c.offset_px);
        }
      std::string place;
      if (fig.captions) place = where.size() == n ? " in every panel" : fmt::format(" in {}", fmt::join(where, ", "));
      notes.push_back(
          fmt::format("{} {} {}{}; drawn {:g} px lower", a, all_points ? "coincides with" : "overlaps", b, place, off));
    }
  }
  const FittedText xlabel = fit_text(fig.x_label, width - 2 * kPad, kFont, true);
  std::vector<FittedText> fitted_notes;
  double notes_h = 0;
  for (const auto& note : notes) {
    fitted_notes.push_back(fit_text(note, width - 2 * kPad, 11, true));
    notes_h += fitted_notes.back().height();
  }
  const double legend_h = double(legend.names.size()) * kLegendRow + 8;
  const double body_h = std::max(grid_h, legend_h);
  const double height = std::ceil(top + body_h + 8 + xlabel.height() + (notes_h > 0 ? 6 + notes_h : 0) + kPad);

  std::string o;
  o += fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:g}\" height=\"{1:g}\" viewBox=\"0 0 {0:g} {1:g}\" "
      "font-family=\"sans-serif\" font-size=\"{2:g}\">\n",
      width, height, kFont);
  o += fmt::format("<title>{}</title>\n<rect x=\"0\" y=\"0\" width=\"{:g}\" height=\"{:g}\" fill=\"white\"/>\n",
                   escape(fig.title), width, height);
  o += text_lines(title, "title", width / 2, kPad + title.font, "middle");

  for (size_t k = 0; k < n; ++k) {
    const SvgChart& panel = *fig.panels[k];
    const Axis &ax = pax[k], &ay = pay[k];
    o += fmt::format("<g class=\"panel\" data-panel=\"{}\">\n", escape(panel.title));
    if (fig.captions) {
      const FittedText& cap = captions[k];
      o += text_lines(cap, "caption", (ax.p0 + ax.p1) / 2, ay.p1 - 4 - cap.height() + cap.font, "middle",
                      " font-weight=\"bold\"");
    }
    for (const auto& b : panel.bands) {  // bands first, under everything else
      const double x0 = std::clamp(ax.px(std::max(b.x0, ax.lo)), ax.p0, ax.p1);
      const double x1 = std::clamp(ax.px(std::min(b.x1, ax.hi)), ax.p0, ax.p1);
      if (x1 <= x0) continue;
      const FittedText label = fit_text(b.label, fig.plot_w - 4, kFont, false);
      const double w = label.lines.empty() ? 0 : text_width_px(label.lines[0], label.font);
      o += fmt::format(
          "<g class=\"band\" data-band=\"{}\"><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "fill=\"{}\" fill-opacity=\"0.6\"/>\n",
          escape(b.label), x0, ay.p1, x1 - x0, ay.p0 - ay.p1, escape(b.color));
      o += text_lines(label, "band-label", clamp_centre((x0 + x1) / 2, w, ax.p0 + 2, ax.p1 - 2), ay.p1 + 14, "middle",
                      " fill=\"#990000\"");
      o += "</g>\n";
    }
    o += fmt::format(
        "<g class=\"axes\" stroke=\"#333\"><line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\"/>"
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{3:.1f}\"/></g>\n",
        ax.p0, ay.p0, ax.p1, ay.p1);
    for (double v : xticks)
      o += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ddd\"/>"
          "<text class=\"xtick\" x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
          ax.px(v), ay.p0, ay.p1, ay.p0 + 16, tick_label(v));
    for (double v : yticks) {
      o += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>", ax.p0,
                       ay.px(v), ax.p1);
      if (k % size_t(cols) == 0)  // tick labels on the first column only: the y range is shared
        o += fmt::format("<text class=\"ytick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>", ax.p0 - 6,
                         ay.px(v) + 4, tick_label(v));
      o += "\n";
    }
    for (size_t i = 0; i < panel.series.size(); ++i) {
      const auto& s = panel.series[i];
      const Style& st = legend.style(s.name);
      const auto& pts = drawn[k][i].px;
      std::string coords;
      for (const auto& [x, y] : pts) coords += fmt::format("{}{:.2f},{:.2f}", coords.empty() ? "" : " ", x, y);
      o += fmt::format("<g class=\"series\" data-series=\"{}\"{}>\n", escape(s.name),
                       offsets[k][i] > 0 ? fmt::format(" data-offset-px=\"{:g}\"", offsets[k][i]) : "");
      o += fmt::format(
          "<polyline data-series=\"{}\" data-points=\"{}\" data-marker=\"{}\" fill=\"none\" stroke=\"{}\" "
          "stroke-width=\"2\"{} points=\"{}\"/>\n",
          escape(s.name), pts.size(), kMarkerNames[st.marker], escape(st.color), dash_attr(st.dash), coords);
      const size_t every = std::max<size_t>(1, pts.size() / 40);  // at most ~40 markers per series
      for (size_t j = 0; j < pts.size(); j += every) o += marker_svg(st.marker, pts[j].first, pts[j].second, st.color);
      o += "\n</g>\n";
    }
    o += "</g>\n";
  }

  // Axis labels: x centred under the grid, y rotated along the left edge.
  const double grid_left = left, grid_right = left + grid_w;
  const double xl_w = xlabel.lines.empty() ? 0 : text_width_px(xlabel.lines[0], xlabel.font);
  o += text_lines(xlabel, "xlabel", clamp_centre((grid_left + grid_right) / 2, xl_w, kPad, width - kPad),
                  top + grid_h + 8 + xlabel.font, "middle");
  const FittedText ylabel = fit_text(fig.y_label, grid_h - 4, kFont, false);
  const double ymid = top + grid_h / 2, ycol = kPad + ylabel.font * 0.8;
  for (const auto& line : ylabel.lines)
    o += fmt::format(
        "<text class=\"ylabel\" x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"middle\" font-size=\"{2:g}\" "
        "transform=\"rotate(-90 {0:.1f} {1:.1f})\">{3}</text>\n",
        ycol, ymid, ylabel.font, escape(line));
  double ny = top + grid_h + 8 + xlabel.height() + 6;
  for (const auto& f : fitted_notes) {
    o += text_lines(f, "note", kPad, ny + f.font, "start", " fill=\"#555\"");
    ny += f.height();
  }

  // Legend: sample line with the marker, then the name.
  const double lx = grid_right + 12;
  for (size_t i = 0; i < legend.names.size(); ++i) {
    const Style& st = legend.styles[i];
    const double ly = top + 8 + kLegendRow * double(i);
    o += fmt::format(
        "<g class=\"legend\" data-series=\"{0}\" data-stroke=\"{1}\" data-dash=\"{2}\" data-marker=\"{3}\">"
        "<line x1=\"{4:.1f}\" y1=\"{5:.1f}\" x2=\"{6:.1f}\" y2=\"{5:.1f}\" stroke=\"{1}\" stroke-width=\"2\"{7}/>{8}"
        "<text x=\"{9:.1f}\" y=\"{10:.1f}\">{0}</text></g>\n",
        escape(legend.names[i]), escape(st.color), kDashPatterns[st.dash], kMarkerNames[st.marker], lx, ly,
        lx + kLegendSample, dash_attr(st.dash), marker_svg(st.marker, lx + kLegendSample / 2, ly, st.color),
        lx + kLegendSample + 6, ly + 4);
  }
  o += "</svg>\n";
  return o;
}

}  // namespace

std::string palette_color(int i) {
  return kPalette[size_t(std::abs(i)) % std::size(kPalette)];
}

std::string dash_pattern(int dash) {
  return kDashPatterns[size_t(std::abs(dash)) % kDashes];
}

double text_width_px(const std::string& text, double font_px) {
  return 0.6 * font_px * double(code_points(text));
}

FittedText fit_text(const std::string& text, double max_w, double font, bool wrap) {
  FittedText f;
  f.font = font;
  if (text.empty()) return f;
  if (wrap) {
    std::string line;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(' ', start);
      if (end == std::string::npos) end = text.size();
      const std::string word = text.substr(start, end - start);
      const std::string candidate = line.empty() ? word : line + " " + word;
      if (!line.empty() && text_width_px(candidate, font) > max_w) {
        f.lines.push_back(line);
        line = word;
      } else {
        line = candidate;
      }
      start = end + 1;
    }
    if (!line.empty()) f.lines.push_back(line);
  } else {
    f.lines.push_back(text);
  }
  double widest = 0;
  for (const auto& l : f.lines) widest = std::max(widest, text_width_px(l, font));
  if (widest > max_w) f.font = std::max(kMinFont, std::floor(font * max_w / widest * 10) / 10);
  for (auto& l : f.lines)
    if (text_width_px(l, f.font) > max_w) {  // even the smallest font is too wide: cut, with an ellipsis
      const size_t keep = size_t(std::max(1.0, std::floor(max_w / (f.font * 0.6)) - 1));
      l = first_code_points(l, keep) + "\u2026";
    }
  return f;
}

std::string SvgChart::render() const {
  Figure f;
  f.title = title;
  f.x_label = x_label;
  f.y_label = y_label;
  f.log_x = log_x;
  f.log_y = log_y;
  f.y_min = y_min;
  f.y_max = y_max;
  f.panels = {this};
  return render_figure(f);
}

std::string SvgPanels::render() const {
  Figure f;
  f.title = title;
  f.x_label = x_label;
  f.y_label = y_label;
  f.log_x = log_x;
  f.log_y = log_y;
  f.y_min = y_min;
  f.y_max = y_max;
  f.columns = columns;
  f.plot_w = 250;
  f.plot_h = 190;
  f.captions = true;
  for (const auto& p : panels) f.panels.push_back(&p);
  return render_figure(f);
}

void write_text_file(const std::string& path, const std::string& text, const char* flag) {
  io::write_file_atomic(path, text, flag);  // temp file + rename: never a truncated file
}

}  // namespace ridgeline::report
