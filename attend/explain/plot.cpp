// Cairo charts.
#include "attend/explain/plot.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "attend/base/error.h"
#include "attend/io/atomic_file.h"

namespace attend::explain {

namespace {

constexpr const char* kFont = "sans-serif";

void set_rgb(cairo_t* cr, uint32_t rgb, double alpha = 1.0) {
  cairo_set_source_rgba(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                        (rgb & 0xff) / 255.0, alpha);
}

// Draws s with its anchor at (x, y): align 0 left, 0.5 centre, 1 right; vertical centre on y;
// angle in radians (counter-clockwise negative, as Cairo rotates clockwise).
void text(cairo_t* cr, double x, double y, const std::string& s, double size, double align = 0,
          double angle = 0, bool bold = false, uint32_t color = 0x222222) {
  cairo_save(cr);
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  set_rgb(cr, color);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -align * e.x_advance, size * 0.35);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

double text_width(const std::string& s, double size) {
  cairo_surface_t* surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t* cr = cairo_create(surf);
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_destroy(cr);
  cairo_surface_destroy(surf);
  return e.x_advance;
}

// Viridis, t in [0, 1].
void viridis(double t, double* r, double* g, double* b) {
  static const double k[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                 {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                 {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 8.0;
  const int i = std::min(7, static_cast<int>(t));
  const double f = t - i;
  *r = (k[i][0] + f * (k[i + 1][0] - k[i][0])) / 255.0;
  *g = (k[i][1] + f * (k[i + 1][1] - k[i][1])) / 255.0;
  *b = (k[i][2] + f * (k[i + 1][2] - k[i][2])) / 255.0;
}

std::string number(double v) {
  if (!std::isfinite(v)) return "n/a";
  const double a = std::abs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e5)) return fmt::format("{:.2g}", v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.3g}", v);
}

// "Nice" tick step for a range split into about n parts.
double nice_step(double range, int n) {
  if (!(range > 0)) return 1;
  const double raw = range / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void draw_on(cairo_surface_t* surf, const Figure& f, const std::string& path) {
  cairo_t* cr = cairo_create(surf);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  f.draw(cr);
  const cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  ATTEND_CHECK(st == CAIRO_STATUS_SUCCESS, "{}: drawing failed ({})", path,
               cairo_status_to_string(st));
}

}  // namespace

std::vector<std::string> save_figure(const Figure& f, const std::string& stem) {
  const int w = static_cast<int>(std::ceil(f.width)), h = static_cast<int>(std::ceil(f.height));
  const std::string png = stem + ".png", svg = stem + ".svg";
  {
    cairo_surface_t* surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    std::string bytes;
    try {
      draw_on(surf, f, png);
    } catch (...) {
      cairo_surface_destroy(surf);
      throw;
    }
    const cairo_status_t st = cairo_surface_write_to_png_stream(surf, append_bytes, &bytes);
    cairo_surface_destroy(surf);
    ATTEND_CHECK(st == CAIRO_STATUS_SUCCESS, "{}: cannot encode PNG ({})", png,
                 cairo_status_to_string(st));
    io::write_file_atomic(png, bytes);
  }
  {
    std::string bytes;
    cairo_surface_t* surf = cairo_svg_surface_create_for_stream(append_bytes, &bytes, w, h);
    try {
      draw_on(surf, f, svg);
    } catch (...) {
      cairo_surface_destroy(surf);
      throw;
    }
    cairo_surface_finish(surf);
    const cairo_status_t st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    ATTEND_CHECK(st == CAIRO_STATUS_SUCCESS, "{}: cannot write SVG ({})", svg,
                 cairo_status_to_string(st));
    io::write_file_atomic(svg, bytes);
  }
  return {png, svg};
}

Figure heatmap_figure(const std::string& title, const Matrix& m,
                      const std::vector<std::string>& row_labels,
                      const std::vector<std::string>& col_labels, const std::string& x_title,
                      const std::string& y_title) {
  const int64_t R = m.rows, C = m.cols;
  ATTEND_CHECK(R > 0 && C > 0, "[explain] empty heat map '{}'", title);
  const double cs = std::clamp(560.0 / static_cast<double>(std::max(R, C)), 2.0, 40.0);
  auto label = [](const std::vector<std::string>& l, int64_t i) {
    return i < static_cast<int64_t>(l.size()) ? l[i] : std::to_string(i);
  };
  double max_row = 0, max_col = 0;
  for (int64_t i = 0; i < R; ++i) max_row = std::max(max_row, text_width(label(row_labels, i), 10));
  for (int64_t j = 0; j < C; ++j) max_col = std::max(max_col, text_width(label(col_labels, j), 10));
  const double left = 40 + max_row + 10, top = 56, gw = cs * C, gh = cs * R;
  const double bottom = max_col * 0.75 + 50;
  Figure f;
  f.width = std::max(left + gw + 110, text_width(title, 15) + 40);
  f.height = top + gh + bottom;
  double vmax = 0;
  for (double x : m.v) vmax = std::max(vmax, x);
  if (!(vmax > 0)) vmax = 1;
  f.draw = [=](cairo_t* cr) {
    text(cr, 20, 22, title, 15, 0, 0, true);
    text(cr, 20, 40, fmt::format("rows: {} ({}), columns: {} ({})", y_title, R, x_title, C), 11, 0,
         0, false, 0x555555);
    if (R * C <= 1600) {
      for (int64_t i = 0; i < R; ++i)
        for (int64_t j = 0; j < C; ++j) {
          double r, g, b;
          viridis(m.at(i, j) / vmax, &r, &g, &b);
          cairo_set_source_rgb(cr, r, g, b);
          // slight overlap hides hairlines between cells
          cairo_rectangle(cr, left + j * cs, top + i * cs, cs + 0.3, cs + 0.3);
          cairo_fill(cr);
        }
    } else {  // large maps: one image (compact SVG), scaled with nearest-neighbour sampling
      cairo_surface_t* img =
          cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(C), static_cast<int>(R));
      cairo_surface_flush(img);
      unsigned char* px = cairo_image_surface_get_data(img);
      const int st = cairo_image_surface_get_stride(img);
      for (int64_t i = 0; i < R; ++i)
        for (int64_t j = 0; j < C; ++j) {
          double r, g, b;
          viridis(m.at(i, j) / vmax, &r, &g, &b);
          auto* p = reinterpret_cast<uint32_t*>(px + i * st) + j;
          *p = (static_cast<uint32_t>(r * 255 + 0.5) << 16) |
               (static_cast<uint32_t>(g * 255 + 0.5) << 8) | static_cast<uint32_t>(b * 255 + 0.5);
        }
      cairo_surface_mark_dirty(img);
      cairo_save(cr);
      cairo_translate(cr, left, top);
      cairo_scale(cr, cs, cs);
      cairo_set_source_surface(cr, img, 0, 0);
      cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
      cairo_rectangle(cr, 0, 0, static_cast<double>(C), static_cast<double>(R));
      cairo_fill(cr);
      cairo_restore(cr);
      cairo_surface_destroy(img);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, left, top, gw, gh);
    cairo_stroke(cr);
    const int64_t rstep = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(13.0 / cs)));
    for (int64_t i = 0; i < R; i += rstep)
      text(cr, left - 6, top + (i + 0.5) * cs, label(row_labels, i), 10, 1);
    const int64_t cstep = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(13.0 / cs)));
    for (int64_t j = 0; j < C; j += cstep)
      text(cr, left + (j + 0.5) * cs, top + gh + 8, label(col_labels, j), 10, 1, -M_PI / 4);
    text(cr, left + gw / 2, f.height - 14, x_title + " (keys)", 12, 0.5);
    text(cr, 14, top + gh / 2, y_title + " (queries)", 12, 0.5, -M_PI / 2);
    // colour bar
    const double bx = left + gw + 24, bh = std::max(gh, 120.0);
    for (int k = 0; k < 100; ++k) {
      double r, g, b;
      viridis(1.0 - k / 99.0, &r, &g, &b);
      cairo_set_source_rgb(cr, r, g, b);
      cairo_rectangle(cr, bx, top + k * bh / 100.0, 14, bh / 100.0 + 0.5);
      cairo_fill(cr);
    }
    text(cr, bx + 18, top + 4, number(vmax), 10);
    text(cr, bx + 18, top + bh / 2, number(vmax / 2), 10);
    text(cr, bx + 18, top + bh - 4, "0", 10);
  };
  f.height = std::max(f.height, top + 120 + bottom);
  return f;
}

Figure bar_figure(const std::string& title, const std::vector<std::string>& labels,
                  const std::vector<BarSeries>& series, const std::string& y_title,
                  const std::vector<uint32_t>& colors) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t S = static_cast<int64_t>(series.size());
  ATTEND_CHECK(n > 0 && S > 0, "[explain] empty bar chart '{}'", title);
  for (const auto& s : series)
    ATTEND_CHECK(static_cast<int64_t>(s.values.size()) == n,
                 "[explain] bar chart '{}': series '{}' has {} values for {} labels", title, s.name,
                 s.values.size(), n);
  double max_label = 0;
  for (const auto& l : labels) max_label = std::max(max_label, text_width(l, 10));
  const double slot = std::clamp(520.0 / n, 14.0 * S, 60.0 * S);
  const double left = 70, top = S > 1 ? 70 : 50, pw = slot * n, ph = 260;
  const double bottom = max_label * 0.75 + 40;
  double vmax = 0;
  for (const auto& s : series)
    for (double v : s.values)
      if (std::isfinite(v)) vmax = std::max(vmax, v);
  if (!(vmax > 0)) vmax = 1;
  const double step = nice_step(vmax, 5), top_value = std::ceil(vmax / step) * step;
  Figure f;
  f.width = std::max(left + pw + 30, text_width(title, 15) + 40);
  f.height = top + ph + bottom;
  f.draw = [=](cairo_t* cr) {
    text(cr, 20, 22, title, 15, 0, 0, true);
    if (S > 1)
      for (int64_t s = 0; s < S; ++s) {
        set_rgb(cr, series[s].color);
        cairo_rectangle(cr, left + s * 150, 40, 12, 12);
        cairo_fill(cr);
        text(cr, left + s * 150 + 16, 46, series[s].name, 11);
      }
    cairo_set_line_width(cr, 1);
    for (double v = 0; v <= top_value + 1e-12; v += step) {
      const double y = top + ph - v / top_value * ph;
      cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
      cairo_move_to(cr, left, y);
      cairo_line_to(cr, left + pw, y);
      cairo_stroke(cr);
      text(cr, left - 6, y, number(v), 10, 1);
    }
    text(cr, 16, top + ph / 2, y_title, 12, 0.5, -M_PI / 2);
    const double bw = slot * 0.8 / S;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t s = 0; s < S; ++s) {
        const double v = series[s].values[i];
        const double x = left + i * slot + slot * 0.1 + s * bw;
        if (!std::isfinite(v)) {
          text(cr, x + bw / 2, top + ph - 8, "n/a", 9, 0.5, -M_PI / 2);
          continue;
        }
        const double hgt = std::max(0.0, v) / top_value * ph;
        set_rgb(cr,
                s == 0 && i < static_cast<int64_t>(colors.size()) ? colors[i] : series[s].color);
        cairo_rectangle(cr, x, top + ph - hgt, bw, hgt);
        cairo_fill(cr);
      }
      text(cr, left + (i + 0.5) * slot, top + ph + 8, labels[i], 10, 1, -M_PI / 4);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_move_to(cr, left, top);
    cairo_line_to(cr, left, top + ph);
    cairo_line_to(cr, left + pw, top + ph);
    cairo_stroke(cr);
  };
  return f;
}

Figure panels_figure(const std::string& title, const std::vector<Panel>& panels,
                     const std::string& x_title,
                     const std::vector<std::pair<double, std::string>>& x_ticks) {
  ATTEND_CHECK(!panels.empty(), "[explain] no panels for '{}'", title);
  const double left = 70, pw = 900, ph = 170, strip = 26, gap = 46, top = 44;
  double xmin = INFINITY, xmax = -INFINITY;
  for (const auto& p : panels) {
    for (const auto& l : p.lines)
      for (double x : l.x) xmin = std::min(xmin, x), xmax = std::max(xmax, x);
    for (const auto& b : p.bands)
      for (double x : b.x) xmin = std::min(xmin, x), xmax = std::max(xmax, x);
    for (double x : p.importance_x) xmin = std::min(xmin, x - 0.5), xmax = std::max(xmax, x + 0.5);
  }
  if (!(xmax > xmin)) xmin = 0, xmax = 1;
  std::vector<double> heights;
  double total = top;
  for (const auto& p : panels) {
    const double h = ph + (p.importance.empty() ? 0 : strip + 16) + gap;
    heights.push_back(h);
    total += h;
  }
  Figure f;
  f.width = left + pw + 30;
  f.height = total + 30;
  f.draw = [=](cairo_t* cr) {
    text(cr, 20, 22, title, 15, 0, 0, true);
    auto X = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
    double y0 = top;
    for (size_t pi = 0; pi < panels.size(); ++pi) {
      const Panel& p = panels[pi];
      double ymin = INFINITY, ymax = -INFINITY;
      for (const auto& l : p.lines)
        for (double y : l.y)
          if (std::isfinite(y)) ymin = std::min(ymin, y), ymax = std::max(ymax, y);
      for (const auto& b : p.bands) {
        for (double y : b.lo)
          if (std::isfinite(y)) ymin = std::min(ymin, y);
        for (double y : b.hi)
          if (std::isfinite(y)) ymax = std::max(ymax, y);
      }
      if (!(ymax > ymin)) ymin -= 1, ymax += 1;
      const double pad = (ymax - ymin) * 0.06;
      ymin -= pad, ymax += pad;
      const double pt = y0 + 18;
      auto Y = [&](double y) { return pt + ph - (y - ymin) / (ymax - ymin) * ph; };
      text(cr, left, y0 + 6, p.title, 12, 0, 0, true);
      cairo_set_line_width(cr, 1);
      const double ys = nice_step(ymax - ymin, 4);
      for (double v = std::ceil(ymin / ys) * ys; v <= ymax; v += ys) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, left, Y(v));
        cairo_line_to(cr, left + pw, Y(v));
        cairo_stroke(cr);
        text(cr, left - 6, Y(v), number(std::abs(v) < ys * 1e-6 ? 0.0 : v), 10, 1);
      }
      if (xmin < -0.5 && xmax > -0.5) {  // forecast origin between x = -1 and x = 0
        cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
        const double dash[] = {4, 3};
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, X(-0.5), pt);
        cairo_line_to(cr, X(-0.5), pt + ph);
        cairo_stroke(cr);
        cairo_set_dash(cr, nullptr, 0, 0);
      }
      for (const auto& b : p.bands) {
        if (b.x.empty()) continue;
        set_rgb(cr, b.color, 0.25);
        cairo_move_to(cr, X(b.x[0]), Y(b.hi[0]));
        for (size_t i = 1; i < b.x.size(); ++i) cairo_line_to(cr, X(b.x[i]), Y(b.hi[i]));
        for (size_t i = b.x.size(); i-- > 0;) cairo_line_to(cr, X(b.x[i]), Y(b.lo[i]));
        cairo_close_path(cr);
        cairo_fill(cr);
      }
      for (const auto& l : p.lines) {
        if (l.x.empty()) continue;
        set_rgb(cr, l.color);
        cairo_set_line_width(cr, 1.6);
        if (l.dashed) {
          const double dash[] = {5, 3};
          cairo_set_dash(cr, dash, 2, 0);
        }
        cairo_move_to(cr, X(l.x[0]), Y(l.y[0]));
        for (size_t i = 1; i < l.x.size(); ++i) cairo_line_to(cr, X(l.x[i]), Y(l.y[i]));
        cairo_stroke(cr);
        cairo_set_dash(cr, nullptr, 0, 0);
      }
      // legend
      double lx = left + pw;
      std::vector<std::pair<std::string, uint32_t>> items;
      for (const auto& l : p.lines) items.push_back({l.name, l.color});
      for (const auto& b : p.bands) items.push_back({b.name, b.color});
      for (size_t i = items.size(); i-- > 0;) {
        const double w = text_width(items[i].first, 10) + 26;
        lx -= w;
        set_rgb(cr, items[i].second);
        cairo_rectangle(cr, lx, y0 + 2, 14, 6);
        cairo_fill(cr);
        text(cr, lx + 18, y0 + 5, items[i].first, 10);
      }
      cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
      cairo_set_line_width(cr, 1);
      cairo_rectangle(cr, left, pt, pw, ph);
      cairo_stroke(cr);
      double below = pt + ph;
      if (!p.importance.empty()) {
        const double sy = below + 8;
        // shaded from the smallest (white) to the largest (dark red) value
        double imin = INFINITY, imax = -INFINITY;
        for (double v : p.importance) imin = std::min(imin, v), imax = std::max(imax, v);
        const double span = imax > imin ? imax - imin : 1.0;
        const double cw = pw / (xmax - xmin);
        for (size_t i = 0; i < p.importance.size(); ++i) {
          const double t = std::clamp((p.importance[i] - imin) / span, 0.0, 1.0);
          cairo_set_source_rgb(cr, 1 - 0.3 * t, 1 - 0.85 * t, 1 - 0.85 * t);
          cairo_rectangle(cr, X(p.importance_x[i] - 0.5), sy, cw + 0.3, strip);
          cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
        cairo_rectangle(cr, left, sy, pw, strip);
        cairo_stroke(cr);
        text(cr, left - 6, sy + strip / 2, p.importance_title, 10, 1);
        below = sy + strip;
      }
      for (const auto& [x, s] : x_ticks) {
        if (x < xmin || x > xmax) continue;
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        cairo_move_to(cr, X(x), below);
        cairo_line_to(cr, X(x), below + 4);
        cairo_stroke(cr);
        text(cr, X(x), below + 12, s, 9, 0.5);
      }
      y0 += heights[pi];
    }
    text(cr, left + pw / 2, f.height - 14, x_title, 12, 0.5);
  };
  return f;
}

std::string file_base64(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ATTEND_CHECK(in.good(), "{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    out += t[v >> 18], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += t[v & 63];
  }
  if (i + 1 == s.size()) {
    const uint32_t v = uint8_t(s[i]) << 16;
    out += t[v >> 18], out += t[(v >> 12) & 63], out += "==";
  } else if (i + 2 == s.size()) {
    const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += t[v >> 18], out += t[(v >> 12) & 63], out += t[(v >> 6) & 63], out += '=';
  }
  return out;
}

}  // namespace attend::explain
