#pragma once
// Checkpoint folders: weights.safetensors (TSLib state_dict names), config.json (run.py flag
// names -> values, "attend_format": 1) and scaler.json ({"columns", "mean", "scale"}), written
// atomically: the files go to a temporary folder beside the destination, which is then renamed.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "attend/data/scaler.h"
#include "attend/models/model.h"
#include "attend/train/run_config.h"

namespace attend::train {

struct CheckpointInfo {
  std::string dir;
  RunConfig config;
  std::vector<std::string> columns;  // the model's channels, in order
  data::StandardScaler scaler;       // wide data's scaler
  // Long format: the series-id and time column names of the training data, and each series'
  // scaler (scaler.json {"columns", "id_col", "time_col", "series": {id: {columns, mean, scale}}}).
  std::string id_column, time_column;
  std::vector<std::string> series_ids;
  std::vector<data::StandardScaler> series_scalers;

  bool long_format() const { return !series_ids.empty(); }
  // The scaler of series `id` (long format; an unknown id is an error naming it), or the scaler.
  const data::StandardScaler& scaler_of(const std::string& id) const;
};

// scaler.json of `data`: the scaler (wide) or every series' scaler keyed by id (long format).
nlohmann::json scalers_to_json(const data::ForecastData& data);

// Reads DIR/config.json and DIR/scaler.json and checks DIR/weights.safetensors exists. Unknown
// config keys, values of the wrong type and values a flag would refuse are errors naming the file
// and the key; run.py keys attend does not use are ignored.
CheckpointInfo read_checkpoint(const std::string& dir);

// The pieces of read_checkpoint, for text already in memory: a checkpoint's config.json (read,
// then validated; errors name `source` and the key) and its scaler.json (sets info's columns and
// its scaler, or its series' scalers in long format).
RunConfig checkpoint_config(const nlohmann::json& j, const std::string& source);
void read_scalers(const nlohmann::json& j, const std::string& source, CheckpointInfo& info);

// The config resolved against the scaler's columns (enc_in/dec_in/c_out 0 become their count, TFT
// column names their indices).
RunConfig resolved_config(const CheckpointInfo& info);

// Builds the checkpoint's model (freq: the frequency for a config whose freq is "auto") and loads
// its weights.
std::shared_ptr<models::ForecastModel> load_checkpoint_model(const CheckpointInfo& info,
                                                             const std::string& freq, Context& ctx);

// Writes weights.safetensors, config.json and scaler.json into an existing folder `dir`.
void write_checkpoint_files(const std::string& dir, const nn::Module& model, const RunConfig& cfg,
                            const nlohmann::json& scalers);

// Creates a fresh temporary folder ".NAME.tmp-PID-HEX" beside `dir`, calls fill(temp), fsyncs
// what it wrote and moves it to `dir`. An existing `dir` is swapped with it in one step
// (renameat2 RENAME_EXCHANGE; two renames where the file system lacks it), then removed: `dir`
// holds the previous folder or the complete new one at every instant, whenever the process dies.
// On any failure the temporary folder is removed and `dir` is left as it was; errors name `dir`.
// Temporaries of `dir` left by a killed process are cleaned first (recover_folder).
void write_folder_atomic(const std::string& dir,
                         const std::function<void(const std::string& temp)>& fill);

// Removes the temporaries of write_folder_atomic(dir) whose process is gone, and restores the
// previous folder when a process killed between the two renames of the fallback left `dir`
// missing. Best effort (silent): readers call it before reading `dir`.
void recover_folder(const std::string& dir);

// Creates `root` (and parents) when missing and checks that a folder can be made inside it;
// throws attend::Error naming the path otherwise. `flag` names the option in the message.
void ensure_writable_folder(const std::string& root, const std::string& flag);

// Reads a whole JSON file; errors name the file.
nlohmann::json read_json_file(const std::string& path);
// Parses JSON text; errors name `source`.
nlohmann::json parse_json(std::string_view text, const std::string& source);

}  // namespace attend::train
