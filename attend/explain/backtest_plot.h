#pragma once
// The picture of a backtest: one panel per cut-off of one series with the input tail, the actuals
// and the forecast of one column.
#include <string>

#include "attend/explain/plot.h"
#include "attend/train/backtest.h"

namespace attend::explain {

// Panels of at most `max_panels` cut-offs (evenly spread, the first and last kept) of series
// `series_id` (long format; "" for the first series) drawing the target column (or the first
// predicted one): the last min(seq_len, 2 * pred_len) input rows, the actuals and the forecast in
// original units. An unknown id is an error naming --plot_id.
Figure backtest_figure(const train::BacktestResult& r, const std::string& series_id = "",
                       int max_panels = 12);

}  // namespace attend::explain
