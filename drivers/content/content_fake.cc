#include "drivers/content/content_fake.h"

#include <algorithm>
#include <utility>

#include "common/status.h"
#include "fmt/format.h"

namespace wod::drivers::content {
namespace {

using Manifest = model::ObservedSeatContent::Manifest;

const std::string& ManifestPath() {
  static const std::string path =
      fmt::format("{}/{}", model::kContentStateDir, model::kContentManifestName);
  return path;
}

const std::string& WorkspacePath() {
  static const std::string path =
      fmt::format("{}/{}", model::kJupyterWorkspacesDir, model::kJupyterDefaultWorkspaceFile);
  return path;
}

}  // namespace

FakeContentDriver::FakeContentDriver(model::AccountPolicy policy, std::string archive_dir)
    : policy_(std::move(policy)), archive_dir_(std::move(archive_dir)) {}

void FakeContentDriver::FailNext(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = std::move(status);
}

void FakeContentDriver::AddHome(int seat) {
  std::lock_guard<std::mutex> lock(mu_);
  homes_.try_emplace(seat);
  observed_.erase(seat);
}

void FakeContentDriver::RemoveHome(int seat) {
  std::lock_guard<std::mutex> lock(mu_);
  homes_.erase(seat);
  observed_.erase(seat);
}

void FakeContentDriver::SetNow(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = now;
}

bool FakeContentDriver::HasHome(int seat) const {
  std::lock_guard<std::mutex> lock(mu_);
  return homes_.count(seat) != 0;
}

std::optional<std::string> FakeContentDriver::ReadFile(int seat, const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto home = homes_.find(seat);
  if (home == homes_.end()) return std::nullopt;
  auto it = home->second.files.find(path);
  if (it == home->second.files.end()) return std::nullopt;
  return it->second;
}

bool FakeContentDriver::WriteFile(int seat, const std::string& path, std::string data) {
  std::lock_guard<std::mutex> lock(mu_);
  auto home = homes_.find(seat);
  if (home == homes_.end() || !model::IsSafeRelativePath(path)) return false;
  observed_.erase(seat);
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    home->second.dirs.insert(path.substr(0, slash));
  }
  home->second.files[path] = std::move(data);
  home->second.mtimes[path] = now_;
  return true;
}

bool FakeContentDriver::RemoveFile(int seat, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto home = homes_.find(seat);
  if (home == homes_.end()) return false;
  observed_.erase(seat);
  return RemoveTree(home->second, path);
}

std::vector<std::string> FakeContentDriver::ListHome(int seat) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  auto home = homes_.find(seat);
  if (home == homes_.end()) return out;
  for (const auto& [path, data] : home->second.files) out.push_back(path);
  for (const std::string& dir : home->second.dirs) out.push_back(dir + "/");
  std::sort(out.begin(), out.end());
  return out;
}

int FakeContentDriver::files_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_written_;
}

int FakeContentDriver::notebook_parses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return notebook_parses_;
}

bool FakeContentDriver::RemoveTree(Home& home, const std::string& path) {
  home.mtimes.erase(path);
  bool removed = home.files.erase(path) > 0;
  removed |= home.dirs.erase(path) > 0;
  const std::string prefix = path + "/";
  for (auto it = home.files.lower_bound(prefix);
       it != home.files.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    home.mtimes.erase(it->first);
    it = home.files.erase(it);
    removed = true;
  }
  for (auto it = home.dirs.lower_bound(prefix);
       it != home.dirs.end() && it->compare(0, prefix.size(), prefix) == 0;) {
    it = home.dirs.erase(it);
    removed = true;
  }
  return removed;
}

std::optional<model::ContentManifest> FakeContentDriver::ManifestOf(const Home& home) const {
  auto it = home.files.find(ManifestPath());
  if (it == home.files.end()) return std::nullopt;
  auto manifest = model::ManifestFromJson(it->second);
  if (!manifest.ok()) return std::nullopt;
  return *std::move(manifest);
}

absl::StatusOr<model::ObservedContent> FakeContentDriver::Observe() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_next_) {
    absl::Status s = *std::move(fail_next_);
    fail_next_.reset();
    return s;
  }
  model::ObservedContent out;
  out.seats.reserve(homes_.size());
  for (const auto& [seat, home] : homes_) {
    auto it = observed_.find(seat);
    if (it == observed_.end()) it = observed_.emplace(seat, ObserveHome(seat, home)).first;
    out.seats.push_back(it->second);
  }
  return out;
}

model::ObservedSeatContent FakeContentDriver::ObserveHome(int seat, const Home& home) const {
  model::ObservedSeatContent seen;
  seen.seat = seat;
  seen.home = policy_.Home(seat);
  auto text = home.files.find(ManifestPath());
  if (text == home.files.end()) return seen;
  auto manifest = model::ManifestFromJson(text->second);
  if (!manifest.ok()) {
    seen.manifest_state = Manifest::kCorrupt;
    seen.manifest_error = std::string(manifest.status().message());
    return seen;
  }
  seen.manifest_state = Manifest::kPresent;
  seen.registration_id = manifest->registration_id;
  seen.workshop = manifest->workshop;
  seen.reset_epoch = manifest->reset_epoch;
  seen.content_hash = manifest->content_hash;
  seen.folder = manifest->folder;
  if (home.dirs.count(manifest->folder) == 0) seen.missing_files.push_back(manifest->folder);
  for (const auto& [path, baseline] : manifest->notebooks) {
    auto nb = home.files.find(path);
    if (nb == home.files.end()) {
      if (home.dirs.count(manifest->folder) != 0) seen.missing_files.push_back(path);
      model::NotebookProgress p;
      p.file = path;
      p.readable = false;
      p.error = "missing";
      seen.notebooks.push_back(std::move(p));
      continue;
    }
    ++notebook_parses_;
    seen.notebooks.push_back(model::ProgressOf(path, nb->second, baseline));
    auto mtime = home.mtimes.find(path);
    seen.last_modified = std::max(seen.last_modified,
                                  mtime == home.mtimes.end() ? absl::UnixEpoch() : mtime->second);
  }
  std::sort(seen.missing_files.begin(), seen.missing_files.end());
  seen.files_intact = seen.missing_files.empty();
  seen.total = model::Total(seen.notebooks);
  return seen;
}

absl::StatusOr<model::ContentResult> FakeContentDriver::Apply(const model::ContentAction& action) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_next_) {
    absl::Status s = *std::move(fail_next_);
    fail_next_.reset();
    return s;
  }
  return ApplyLocked(action);
}

absl::StatusOr<model::ContentResult> FakeContentDriver::ApplyLocked(
    const model::ContentAction& action) {
  if (!policy_.ValidSeat(action.seat)) {
    return absl::InvalidArgumentError(
        fmt::format("seat {} is outside the managed range", action.seat));
  }
  const std::string home_name = policy_.Home(action.seat);
  auto home_it = homes_.find(action.seat);
  model::ContentResult result;
  // Deploy and wipe change the home; a harvest only reads it.
  if (action.kind != model::ContentAction::Kind::kHarvest) observed_.erase(action.seat);

  switch (action.kind) {
    case model::ContentAction::Kind::kDeploy: {
      if (!model::IsSafeFolderName(action.workshop)) {
        return absl::InvalidArgumentError(
            fmt::format("workshop '{}' is not a plain folder name", action.workshop));
      }
      if (action.content_dir.empty()) {
        return absl::InvalidArgumentError(
            fmt::format("workshop '{}' has no content folder", action.workshop));
      }
      auto source = sources_.Get(action.content_dir, action.workshop);
      if (!source.ok()) return absl::InvalidArgumentError(std::string(source.status().message()));
      ASSIGN_OR_RETURN(RenderedWorkshop rendered,
                       RenderWorkshop(**source, action.workshop, action.variables));
      if (home_it == homes_.end()) {
        return absl::NotFoundError(fmt::format("cannot open '{}': no such home", home_name));
      }
      Home& home = home_it->second;
      const model::ContentManifest manifest = MakeManifest(
          rendered, action.seat, action.registration_id, action.workshop, action.reset_epoch);
      const std::optional<model::ContentManifest> current = ManifestOf(home);
      if (current && current->registration_id == manifest.registration_id &&
          current->reset_epoch == manifest.reset_epoch && current->folder == manifest.folder &&
          current->content_hash == manifest.content_hash) {
        return result;
      }
      RemoveTree(home, rendered.folder);
      if (current && current->folder != rendered.folder) RemoveTree(home, current->folder);
      home.dirs.insert(rendered.folder);
      for (const std::string& dir : rendered.dirs) home.dirs.insert(dir);
      for (const RenderedFile& file : rendered.files) {
        home.files[file.path] = file.data;
        home.mtimes[file.path] = now_;
      }
      home.dirs.insert(".jupyter");
      home.dirs.insert(".jupyter/lab");
      home.dirs.insert(model::kJupyterWorkspacesDir);
      home.files[WorkspacePath()] = rendered.workspace_json;
      home.dirs.insert(model::kContentStateDir);
      home.files[ManifestPath()] = model::ManifestToJson(manifest).dump(1) + "\n";
      files_written_ += static_cast<int>(rendered.files.size());
      result.changed = true;
      result.files_written = static_cast<int>(rendered.files.size());
      return result;
    }
    case model::ContentAction::Kind::kWipe: {
      if (home_it == homes_.end()) return result;
      Home& home = home_it->second;
      if (const auto current = ManifestOf(home)) {
        result.changed |= RemoveTree(home, current->folder);
      }
      if (model::IsSafeFolderName(action.workshop)) {
        result.changed |= RemoveTree(home, action.workshop);
      }
      result.changed |= RemoveTree(home, WorkspacePath());
      result.changed |= RemoveTree(home, model::kContentStateDir);
      return result;
    }
    case model::ContentAction::Kind::kHarvest: {
      if (!model::IsSafeFolderName(action.workshop)) {
        return absl::InvalidArgumentError(
            fmt::format("workshop '{}' is not a plain folder name", action.workshop));
      }
      const std::string stem = fmt::format("{}-{}", action.registration_id, action.workshop);
      if (!archive_dir_.empty()) {
        if (auto it = records_.find(stem); it != records_.end()) {
          result.harvest = it->second;
          return result;
        }
      }
      if (home_it == homes_.end()) {
        return absl::NotFoundError(fmt::format("cannot open '{}': no such home", home_name));
      }
      const Home& home = home_it->second;
      const std::optional<model::ContentManifest> current = ManifestOf(home);
      if (!current || current->registration_id != action.registration_id ||
          current->workshop != action.workshop) {
        return absl::NotFoundError(
            fmt::format("home '{}' holds no content of registration {} workshop '{}'", home_name,
                        action.registration_id, action.workshop));
      }
      model::HarvestResult harvest;
      harvest.seat = action.seat;
      harvest.registration_id = action.registration_id;
      harvest.workshop = action.workshop;
      for (const auto& [path, baseline] : current->notebooks) {
        auto nb = home.files.find(path);
        if (nb == home.files.end()) {
          model::NotebookProgress p;
          p.file = path;
          p.readable = false;
          p.error = "missing";
          harvest.notebooks.push_back(std::move(p));
        } else {
          harvest.notebooks.push_back(model::ProgressOf(path, nb->second, baseline));
        }
      }
      harvest.total = model::Total(harvest.notebooks);
      if (!archive_dir_.empty()) {
        if (home.dirs.count(current->folder) != 0) {
          harvest.archive = fmt::format("{}/{}.tar.gz", archive_dir_, stem);
        }
        records_[stem] = harvest;
      }
      result.changed = true;
      result.harvest = std::move(harvest);
      return result;
    }
  }
  return absl::InvalidArgumentError("unknown content action");
}

}  // namespace wod::drivers::content
