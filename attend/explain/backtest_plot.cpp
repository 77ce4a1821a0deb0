// Forecasts against actuals per cut-off.
#include "attend/explain/backtest_plot.h"

#include <fmt/format.h>

#include <algorithm>

#include "attend/base/error.h"
#include "attend/data/csv.h"

namespace attend::explain {

Figure backtest_figure(const train::BacktestResult& r, const std::string& series_id,
                       int max_panels) {
  int64_t series = 0;
  if (!series_id.empty()) {
    const auto it = std::find(r.series_ids.begin(), r.series_ids.end(), series_id);
    ATTEND_CHECK(it != r.series_ids.end(), "--plot_id: series '{}' is not in the data{}", series_id,
                 r.long_format() ? "" : " (wide data has one series)");
    series = it - r.series_ids.begin();
  }
  std::vector<const train::BacktestWindow*> ws;
  for (const auto& w : r.windows)
    if (w.series == series) ws.push_back(&w);
  ATTEND_CHECK(!ws.empty(), "[backtest] no cut-off to draw");
  const int64_t n = static_cast<int64_t>(ws.size());
  const int64_t shown = std::min<int64_t>(n, std::max(1, max_panels));
  const int64_t K = static_cast<int64_t>(r.columns.size());
  const int64_t k = r.target >= 0 ? r.target : 0;
  const int64_t L = static_cast<int64_t>(ws[0]->history_times.size());
  const int64_t P = static_cast<int64_t>(ws[0]->times.size());
  const int64_t H = std::min(L, 2 * P);  // input rows drawn
  std::vector<Panel> panels;
  for (int64_t j = 0; j < shown; ++j) {
    // j-th of `shown` evenly spread over n (first and last included)
    const train::BacktestWindow& w = *ws[shown == 1 ? n - 1 : j * (n - 1) / (shown - 1)];
    Panel p;
    p.title = fmt::format("cut-off {}   mse {:.4g}   mae {:.4g}{}",
                          data::format_timestamp(w.origin, r.date_format), w.metrics.mse,
                          w.metrics.mae, K > 1 ? " (all columns)" : "");
    Line in{"input", {}, {}, 0x555555, false}, actual{"actual", {}, {}, 0x2ca02c, false},
        fc{"forecast", {}, {}, 0xd62728, false};
    for (int64_t s = L - H; s < L; ++s)
      in.x.push_back(static_cast<double>(s - L)), in.y.push_back(w.history[s * K + k]);
    for (int64_t s = 0; s < P; ++s) {
      if (w.observed.empty() || w.observed[s * K + k])
        actual.x.push_back(static_cast<double>(s)), actual.y.push_back(w.actual[s * K + k]);
      fc.x.push_back(static_cast<double>(s)), fc.y.push_back(w.forecast[s * K + k]);
    }
    p.lines = {in, actual, fc};
    panels.push_back(p);
  }
  const std::string what =
      r.columns[k] + (r.long_format() ? fmt::format(" of series '{}'", r.series_ids[series]) : "");
  const std::string title =
      fmt::format("Backtest of {}: {} from {} cut-off(s){}", r.config.model.model, what, n,
                  shown < n ? fmt::format(", {} shown", shown) : "");
  return panels_figure(title, panels, "steps from the cut-off (dashed line)",
                       {{static_cast<double>(-H), fmt::format("-{}", H)},
                        {0.0, "+1"},
                        {static_cast<double>(P - 1), fmt::format("+{}", P)}});
}

}  // namespace attend::explain
