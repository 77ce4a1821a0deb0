#pragma once
// Charts drawn with Cairo, each saved as PNG and SVG: heat maps, bar charts and time-series
// panels (lines, bands, an importance strip under the series).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attend/explain/stats.h"

typedef struct _cairo cairo_t;

namespace attend::explain {

// A picture of a given size in points, drawn by a callback onto a Cairo context.
struct Figure {
  double width = 800, height = 600;
  std::function<void(cairo_t*)> draw;
};

// Writes <stem>.png and <stem>.svg; returns both paths. Errors name the file.
std::vector<std::string> save_figure(const Figure& figure, const std::string& stem);

// Heat map of m (rows = queries, cols = keys) with a colour bar; labels may be empty
// (token indices) and are thinned to fit.
Figure heatmap_figure(const std::string& title, const Matrix& m,
                      const std::vector<std::string>& row_labels,
                      const std::vector<std::string>& col_labels, const std::string& x_title,
                      const std::string& y_title);

// One bar series.
struct BarSeries {
  std::string name;
  std::vector<double> values;
  uint32_t color = 0x3b6ea5;  // 0xRRGGBB
};

// Grouped vertical bars; `colors` (optional, per bar) override the series colour of series 0.
Figure bar_figure(const std::string& title, const std::vector<std::string>& labels,
                  const std::vector<BarSeries>& series, const std::string& y_title,
                  const std::vector<uint32_t>& colors = {});

struct Line {
  std::string name;
  std::vector<double> x, y;
  uint32_t color = 0x1f77b4;
  bool dashed = false;
};

struct Band {
  std::string name;
  std::vector<double> x, lo, hi;
  uint32_t color = 0xff7f0e;
};

// One panel: lines and bands over a shared x axis; `importance` (optional) is drawn as a strip
// of shaded cells under the panel over importance_x (one value per x).
struct Panel {
  std::string title;
  std::vector<Line> lines;
  std::vector<Band> bands;
  std::vector<double> importance_x, importance;
  std::string importance_title;
};

// Panels stacked vertically; x_ticks label some x positions.
Figure panels_figure(const std::string& title, const std::vector<Panel>& panels,
                     const std::string& x_title,
                     const std::vector<std::pair<double, std::string>>& x_ticks);

// Reads a file's bytes as base64 (for report.html).
std::string file_base64(const std::string& path);

}  // namespace attend::explain
