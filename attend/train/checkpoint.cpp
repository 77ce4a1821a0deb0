// Checkpoint folders.
#include "attend/train/checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "attend/io/atomic_file.h"
#include "attend/io/state_dict.h"

namespace fs = std::filesystem;

namespace attend::train {

nlohmann::json parse_json(std::string_view text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", source, e.what());
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) {
    const int err = errno;
    fail_errno(err, "{}: cannot open ({})", path, std::strerror(err));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), path);
}

RunConfig checkpoint_config(const nlohmann::json& j, const std::string& source) {
  RunConfig cfg = run_config_from_json(j, source);
  try {
    (void)ValidConfig(cfg);  // values of the right type but out of range, named
  } catch (const Error& e) {
    fail("{}: {}", source, e.what());
  }
  return cfg;
}

void read_scalers(const nlohmann::json& sj, const std::string& source, CheckpointInfo& info) {
  if (sj.is_object() && sj.contains("series")) {
    const nlohmann::json& series = sj.at("series");
    ATTEND_CHECK(series.is_object() && !series.empty(),
                 "{}: 'series' must be an object of series id -> scaler", source);
    for (const char* key : {"id_col", "time_col"})
      ATTEND_CHECK(sj.contains(key) && sj.at(key).is_string(), "{}: needs a string '{}'", source,
                   key);
    info.id_column = sj.at("id_col").get<std::string>();
    info.time_column = sj.at("time_col").get<std::string>();
    for (const auto& [id, js] : series.items()) {
      info.series_ids.push_back(id);
      info.series_scalers.push_back(
          data::StandardScaler::from_json(js, source + ": series '" + id + "'"));
      ATTEND_CHECK(info.series_scalers.back().columns() == info.series_scalers[0].columns(),
                   "{}: series '{}' has other columns than series '{}'", source, id,
                   info.series_ids[0]);
    }
    info.columns = info.series_scalers[0].columns();
  } else {
    info.scaler = data::StandardScaler::from_json(sj, source);
    info.columns = info.scaler.columns();
  }
}

CheckpointInfo read_checkpoint(const std::string& dir) {
  recover_folder(dir);
  if (!fs::exists(dir)) fail_not_found("--checkpoint '{}' is not a folder", dir);
  ATTEND_CHECK(fs::is_directory(dir), "--checkpoint '{}' is not a folder", dir);
  CheckpointInfo info;
  info.dir = dir;
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  const std::string scaler_path = (fs::path(dir) / "scaler.json").string();
  const std::string weights_path = (fs::path(dir) / "weights.safetensors").string();
  if (!fs::exists(cfg_path))
    fail_not_found(
        "{}: missing (a checkpoint folder holds weights.safetensors, config.json and scaler.json)",
        cfg_path);
  if (!fs::exists(scaler_path)) fail_not_found("{}: missing", scaler_path);
  if (!fs::exists(weights_path)) fail_not_found("{}: missing", weights_path);
  info.config = checkpoint_config(read_json_file(cfg_path), cfg_path);
  read_scalers(read_json_file(scaler_path), scaler_path, info);
  return info;
}

RunConfig resolved_config(const CheckpointInfo& info) {
  return resolve(info.config, info.columns, info.config.model.freq,
                 (fs::path(info.dir) / "scaler.json").string());
}

std::shared_ptr<models::ForecastModel> load_checkpoint_model(const CheckpointInfo& info,
                                                             const std::string& freq,
                                                             Context& ctx) {
  const RunConfig c =
      resolve(info.config, info.columns, freq, (fs::path(info.dir) / "scaler.json").string());
  auto model = models::make_model(c.model, ctx);
  io::load_state_dict(*model, (fs::path(info.dir) / "weights.safetensors").string());
  model->eval();
  return model;
}

const data::StandardScaler& CheckpointInfo::scaler_of(const std::string& id) const {
  if (!long_format()) return scaler;
  for (size_t i = 0; i < series_ids.size(); ++i)
    if (series_ids[i] == id) return series_scalers[i];
  fail("series '{}' is not one the checkpoint in '{}' was trained on ({} series)", id, dir,
       series_ids.size());
}

nlohmann::json scalers_to_json(const data::ForecastData& data) {
  if (!data.long_format()) return data.scaler.to_json();
  nlohmann::json j;
  j["columns"] = data.columns;
  j["id_col"] = data.id_column;
  j["time_col"] = data.time_column;
  j["series"] = nlohmann::json::object();
  for (size_t i = 0; i < data.series_ids.size(); ++i)
    j["series"][data.series_ids[i]] = data.series_scalers[i].to_json();
  return j;
}

void write_checkpoint_files(const std::string& dir, const nn::Module& model, const RunConfig& cfg,
                            const nlohmann::json& scalers) {
  io::save_state_dict(model, (fs::path(dir) / "weights.safetensors").string(),
                      {{"format", "pt"}, {"attend_format", std::to_string(kFormatVersion)}});
  io::write_file_atomic((fs::path(dir) / "config.json").string(),
                        run_config_to_json(cfg).dump(1) + "\n");
  io::write_file_atomic((fs::path(dir) / "scaler.json").string(), scalers.dump(1) + "\n");
}

namespace {

std::string unique_suffix() {
  std::random_device rd;
  return fmt::format("{}-{:08x}", ::getpid(), rd());
}

constexpr unsigned kRenameExchange = 1u << 1;  // RENAME_EXCHANGE of <linux/fs.h>

// Swaps two existing paths in one step: renameat2(RENAME_EXCHANGE), Linux 3.15 and later (ext4,
// xfs, btrfs, tmpfs, overlayfs). Through syscall(): glibc before 2.28 has no wrapper. Returns 0,
// or -1 with errno (EINVAL or ENOSYS where the kernel or file system does not support it).
int exchange_paths(const std::string& a, const std::string& b) {
#ifdef SYS_renameat2
  return static_cast<int>(
      ::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), kRenameExchange));
#else
  (void)a, (void)b;
  errno = ENOSYS;
  return -1;
#endif
}

// The PID in the name of a temporary of write_folder_atomic for folder `name` of kind `kind`
// (".NAME.tmp-PID-HEX" or ".NAME.old-PID-HEX"), or 0 when `entry` is not one.
pid_t temp_owner(const std::string& entry, const std::string& name, const std::string& kind) {
  const std::string prefix = "." + name + "." + kind + "-";
  if (entry.rfind(prefix, 0) != 0) return 0;
  const char* p = entry.c_str() + prefix.size();
  char* end = nullptr;
  const long pid = std::strtol(p, &end, 10);
  return end != p && *end == '-' && pid > 0 ? static_cast<pid_t>(pid) : 0;
}

// Whether the process that made a temporary is gone (so the temporary is stale).
bool owner_gone(pid_t pid) {
  return pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

void recover_folder(const std::string& dir) {
  fs::path dest = fs::path(dir);
  if (dest.filename().empty()) dest = dest.parent_path();
  const fs::path parent = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  const std::string name = dest.filename().string();
  std::error_code ec;
  std::vector<fs::path> stale_new, stale_old;
  for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::end(it); it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (const pid_t pid = temp_owner(entry, name, "tmp"); pid && owner_gone(pid))
      stale_new.push_back(it->path());
    else if (const pid_t old = temp_owner(entry, name, "old"); old && owner_gone(old))
      stale_old.push_back(it->path());
  }
  if (ec) return;  // an unreadable parent: nothing to recover, and the caller's error says why
  // A ".old-" folder is a complete folder the fallback of write_folder_atomic moved aside: with
  // `dest` missing (killed between its two renames) it is the latest complete one.
  if (!stale_old.empty() && !fs::exists(dest, ec)) {
    fs::rename(stale_old.back(), dest, ec);
    if (!ec) {
      stale_old.pop_back();
      io::sync_folder(parent.string());
    }
  }
  // ".tmp-" folders are half-filled new ones, or after an exchange the previous one being removed.
  for (const auto& p : stale_new) fs::remove_all(p, ec);
  for (const auto& p : stale_old) fs::remove_all(p, ec);
}

void write_folder_atomic(const std::string& dir,
                         const std::function<void(const std::string& temp)>& fill) {
  fs::path dest = fs::path(dir);
  if (dest.filename().empty()) dest = dest.parent_path();
  const fs::path parent = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  const std::string name = dest.filename().string();
  recover_folder(dest.string());
  const fs::path temp = parent / ("." + name + ".tmp-" + unique_suffix());
  std::error_code ec;
  fs::create_directory(temp, ec);
  ATTEND_CHECK(!ec, "cannot create folder '{}': {}", temp.string(), ec.message());
  const bool replacing = fs::exists(dest);
  try {
    try {
      fill(temp.string());
      io::sync_tree(temp.string());  // every file and entry on disk before the folder moves in
    } catch (const Error& e) {
      fail("'{}' {}: {}", dest.string(),
           replacing ? "was not replaced (the previous one is kept)" : "was not written", e.what());
    }
    io::test_write_pause();
    if (replacing) {
      // One step: `dest` holds the previous folder or the new one at every instant.
      if (exchange_paths(temp.string(), dest.string()) == 0) {
        io::sync_folder(parent.string());
        fs::remove_all(temp, ec);  // now the previous folder
        return;
      }
      const int err = errno;
      ATTEND_CHECK(err == EINVAL || err == ENOSYS, "cannot replace '{}': {}", dest.string(),
                   std::strerror(err));
      // No exchange here: two renames. A process killed between them leaves `dest` missing and
      // the previous folder as ".NAME.old-PID-HEX", which recover_folder() puts back.
      const fs::path old = parent / ("." + name + ".old-" + unique_suffix());
      fs::rename(dest, old, ec);
      ATTEND_CHECK(!ec, "cannot replace '{}': {}", dest.string(), ec.message());
      fs::rename(temp, dest, ec);
      if (ec) {
        fs::rename(old, dest);
        fail("cannot rename '{}' to '{}': {}", temp.string(), dest.string(), ec.message());
      }
      io::sync_folder(parent.string());
      fs::remove_all(old, ec);
      return;
    }
    fs::rename(temp, dest, ec);
    ATTEND_CHECK(!ec, "cannot rename '{}' to '{}': {}", temp.string(), dest.string(), ec.message());
    io::sync_folder(parent.string());
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
}

void ensure_writable_folder(const std::string& root, const std::string& flag) {
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    fs::create_directories(root, ec);
    ATTEND_CHECK(!ec, "{} '{}': cannot create the folder: {}", flag, root, ec.message());
  }
  ATTEND_CHECK(fs::is_directory(root, ec), "{} '{}' is not a folder", flag, root);
  const fs::path probe = fs::path(root) / (".attend-probe-" + unique_suffix());
  fs::create_directory(probe, ec);
  ATTEND_CHECK(!ec, "{} '{}': cannot write there: {}", flag, root, ec.message());
  fs::remove(probe, ec);
}

}  // namespace attend::train
