// Loads a checkpoint and forecasts the rows after a wide CSV (a date column first, then the
// model's columns by name), with attend's public API only.
//   embed CHECKPOINT DATA.csv   ->   the forecast as CSV on stdout
#include <attend/attend.h>

#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  for (std::string field; std::getline(s, field, ',');) out.push_back(field);
  return out;
}

// "2020-01-31" or "2020-01-31 13:00:00" as seconds since 1970 UTC.
int64_t seconds_of(const std::string& text) {
  std::tm tm{};
  std::istringstream s(text);
  s >> std::get_time(&tm, text.size() > 10 ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d");
  if (s.fail()) throw std::runtime_error("not a date: '" + text + "'");
  return static_cast<int64_t>(timegm(&tm));
}

std::string date_of(int64_t seconds) {
  const std::time_t t = seconds;
  std::ostringstream s;
  s << std::put_time(std::gmtime(&t), "%Y-%m-%d %H:%M:%S");
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: embed CHECKPOINT DATA.csv\n";
    return 2;
  }
  try {
    const attend::Model model = attend::Model::load(argv[1]);
    const attend::ModelInfo& info = model.info();
    std::ifstream csv(argv[2]);
    std::string line;
    std::getline(csv, line);
    const std::vector<std::string> header = split(line);
    std::vector<size_t> pick;  // the CSV column of each model column
    for (const std::string& c : info.columns) {
      size_t i = 1;
      while (i < header.size() && header[i] != c) ++i;
      if (i == header.size()) throw std::runtime_error(std::string(argv[2]) + ": no column " + c);
      pick.push_back(i);
    }
    attend::SeriesInput input;
    while (std::getline(csv, line)) {
      const std::vector<std::string> f = split(line);
      input.timestamps.push_back(seconds_of(f.at(0)));
      for (size_t i : pick) input.values.push_back(std::stod(f.at(i)));
    }
    const attend::Forecast forecast = model.forecast(input);
    std::cout << "date";
    for (const std::string& c : info.outputs) std::cout << ',' << c;
    std::cout << '\n';
    const size_t K = info.outputs.size();
    for (size_t t = 0; t < forecast.timestamps.size(); ++t) {
      std::cout << date_of(forecast.timestamps[t]);
      for (size_t k = 0; k < K; ++k)
        std::cout << ',' << std::setprecision(9) << forecast.values[t * K + k];  // float32 exactly
      std::cout << '\n';
    }
    std::cerr << "attend " << attend::version() << ": " << info.model << ", " << info.pred_len
              << " steps of " << K << " columns\n";
  } catch (const attend::Error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
