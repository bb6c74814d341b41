#include "drivers/content/content_real.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/files.h"
#include "common/status.h"
#include "fmt/format.h"

namespace wod::drivers::content {
namespace {

using Manifest = model::ObservedSeatContent::Manifest;

std::string JoinRoot(const std::string& root, std::string_view path) {
  std::string out = root;
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out + std::string(path);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RealContentDriver>> RealContentDriver::Create(
    RealContentOptions options) {
  if (options.root.empty() || options.root.front() != '/') {
    return absl::InvalidArgumentError(fmt::format("root '{}' is not absolute", options.root));
  }
  if (!options.archive_dir.empty() && options.archive_dir.front() != '/') {
    return absl::InvalidArgumentError(
        fmt::format("archive directory '{}' is not absolute", options.archive_dir));
  }
  if (options.policy.user_prefix.empty() || options.policy.home_base.empty() ||
      options.policy.home_base.front() != '/') {
    return absl::InvalidArgumentError(
        "account policy needs a user prefix and an absolute home base");
  }
  if (!options.chown) options.chown = geteuid() == 0;
  if (!options.archive_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.archive_dir, ec);
    if (ec) {
      return absl::InvalidArgumentError(fmt::format("cannot create archive directory '{}': {}",
                                                    options.archive_dir, ec.message()));
    }
  }
  return std::unique_ptr<RealContentDriver>(new RealContentDriver(std::move(options)));
}

RealContentDriver::RealContentDriver(RealContentOptions options) : options_(std::move(options)) {
  home_options_.chown = *options_.chown;
  home_options_.sync = options_.sync;
  home_options_.manifest_owner = geteuid();
  home_options_.max_notebook_bytes = options_.max_notebook_bytes;
}

std::string RealContentDriver::HomePath(int seat) const {
  return JoinRoot(options_.root, options_.policy.Home(seat));
}

RealContentDriver::Stats RealContentDriver::stats() const {
  Stats s;
  s.manifest_parses = manifest_parses_.load();
  s.notebook_parses = notebook_parses_.load();
  s.source_reads = sources_.reads();
  return s;
}

absl::StatusOr<model::ObservedContent> RealContentDriver::Observe() {
  std::lock_guard<std::mutex> lock(observe_mu_);
  auto base = OpenDirBelow(options_.root, options_.policy.home_base);
  if (!base.ok()) {
    if (base.status().code() == absl::StatusCode::kNotFound) {
      cache_.clear();
      return model::ObservedContent{};  // no homes at all yet
    }
    return absl::UnavailableError(
        fmt::format("cannot read homes: {}", std::string(base.status().message())));
  }
  auto entries = ListDirAt(base->get());
  if (!entries.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot list homes: {}", std::string(entries.status().message())));
  }
  model::ObservedContent out;
  std::map<int, SeatCache> next;
  for (const DirEntry& e : *entries) {
    const std::optional<int> seat = options_.policy.SeatOfName(e.name);
    if (!seat) continue;  // not a seat's home: not ours to look at
    SeatCache cache;
    if (auto it = cache_.find(*seat); it != cache_.end()) cache = std::move(it->second);
    out.seats.push_back(ObserveHome(base->get(), e.name, *seat, cache));
    if (cache.manifest != nullptr) next.emplace(*seat, std::move(cache));
  }
  cache_ = std::move(next);
  std::sort(out.seats.begin(), out.seats.end(),
            [](const auto& a, const auto& b) { return a.seat < b.seat; });
  return out;
}

model::ObservedSeatContent RealContentDriver::ObserveHome(int base_fd, const std::string& name,
                                                          int seat, SeatCache& cache) {
  model::ObservedSeatContent out;
  out.seat = seat;
  out.home = options_.policy.Home(seat);
  UniqueFd home(openat(base_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!home.ok()) {
    out.manifest_state = Manifest::kCorrupt;
    out.manifest_error = std::string(ErrnoError(errno, "cannot open home", out.home).message());
    cache = SeatCache{};
    return out;
  }
  const std::optional<FileStamp> stamp = ManifestStamp(home.get());
  if (!stamp) {
    out.manifest_state = Manifest::kMissing;
    cache = SeatCache{};
    return out;
  }
  if (cache.manifest == nullptr || !(cache.manifest_stamp == *stamp)) {
    auto read = std::make_shared<ManifestRead>(ReadManifest(home.get(), home_options_));
    ++manifest_parses_;
    cache = SeatCache{};
    if (read->state == Manifest::kMissing) {  // removed between the stat and the read
      out.manifest_state = Manifest::kMissing;
      return out;
    }
    cache.manifest_stamp = read->stamp.value_or(*stamp);
    cache.manifest = std::move(read);
  }
  const ManifestRead& read = *cache.manifest;
  out.manifest_state = read.state;
  out.manifest_error = read.error;
  if (read.state != Manifest::kPresent) return out;
  const model::ContentManifest& m = *read.manifest;
  out.registration_id = m.registration_id;
  out.workshop = m.workshop;
  out.reset_epoch = m.reset_epoch;
  out.content_hash = m.content_hash;
  out.folder = m.folder;

  auto folder = OpenDirAt(home.get(), m.folder);
  if (!folder.ok()) out.missing_files.push_back(m.folder);
  const size_t strip = m.folder.size() + 1;
  for (const auto& [path, baseline] : m.notebooks) {
    std::optional<struct stat> st;
    if (folder.ok()) {
      auto s = StatAt(folder->get(), std::string_view(path).substr(strip));
      if (s.ok()) st = *s;
    }
    if (!st || !S_ISREG(st->st_mode)) {
      if (folder.ok()) out.missing_files.push_back(path);
      cache.notebooks.erase(path);
      model::NotebookProgress p;
      p.file = path;
      p.readable = false;
      p.error = st ? "not a regular file" : "missing";
      out.notebooks.push_back(std::move(p));
      continue;
    }
    auto it = cache.notebooks.find(path);
    if (it != cache.notebooks.end() && it->second.stamp == StampOf(*st)) {
      out.notebooks.push_back(it->second.progress);
      continue;
    }
    std::optional<FileStamp> read_stamp;
    model::NotebookProgress p =
        NotebookProgressAt(home.get(), path, baseline, home_options_, &read_stamp);
    ++notebook_parses_;
    if (read_stamp) {
      cache.notebooks[path] = NotebookEntry{*read_stamp, p};
    } else {
      cache.notebooks.erase(path);
    }
    out.notebooks.push_back(std::move(p));
  }
  if (options_.check_all_files && folder.ok()) {
    for (const model::ManifestFile& f : m.files) {
      if (m.notebooks.count(f.path) != 0) continue;
      auto s = StatAt(folder->get(), std::string_view(f.path).substr(strip));
      if (!s.ok() || !S_ISREG(s->st_mode)) out.missing_files.push_back(f.path);
    }
  }
  std::sort(out.missing_files.begin(), out.missing_files.end());
  out.files_intact = out.missing_files.empty();
  out.total = model::Total(out.notebooks);
  return out;
}

absl::StatusOr<UniqueFd> RealContentDriver::OpenHome(int seat) const {
  return OpenDirBelow(options_.root, options_.policy.Home(seat));
}

absl::StatusOr<model::ContentResult> RealContentDriver::Apply(const model::ContentAction& action) {
  if (!options_.policy.ValidSeat(action.seat)) {
    return absl::InvalidArgumentError(
        fmt::format("seat {} is outside the managed range", action.seat));
  }
  switch (action.kind) {
    case model::ContentAction::Kind::kDeploy:
      return Deploy(action);
    case model::ContentAction::Kind::kWipe:
      return Wipe(action);
    case model::ContentAction::Kind::kHarvest:
      return Harvest(action);
  }
  return absl::InvalidArgumentError("unknown content action");
}

absl::StatusOr<model::ContentResult> RealContentDriver::Deploy(const model::ContentAction& action) {
  if (!model::IsSafeFolderName(action.workshop)) {
    return absl::InvalidArgumentError(
        fmt::format("workshop '{}' is not a plain folder name", action.workshop));
  }
  if (action.content_dir.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("workshop '{}' has no content folder", action.workshop));
  }
  auto source = sources_.Get(action.content_dir, action.workshop);
  if (!source.ok()) {
    // An unreadable content folder will not fix itself by retrying.
    return absl::InvalidArgumentError(std::string(source.status().message()));
  }
  ASSIGN_OR_RETURN(RenderedWorkshop rendered,
                   RenderWorkshop(**source, action.workshop, action.variables));
  const model::ContentManifest manifest = MakeManifest(
      rendered, action.seat, action.registration_id, action.workshop, action.reset_epoch);
  const std::string home_name = options_.policy.Home(action.seat);
  ASSIGN_OR_RETURN(UniqueFd home, OpenHome(action.seat));
  if (home_options_.chown) {
    struct stat st;
    if (fstat(home.get(), &st) != 0) return ErrnoError(errno, "cannot stat", home_name);
    if (st.st_uid != options_.policy.Uid(action.seat)) {
      return absl::FailedPreconditionError(fmt::format("home '{}' is owned by uid {}, not {}",
                                                       home_name, st.st_uid,
                                                       options_.policy.Uid(action.seat)));
    }
  }
  return DeployIntoHome(home.get(), home_name, rendered, manifest, home_options_);
}

absl::StatusOr<model::ContentResult> RealContentDriver::Wipe(const model::ContentAction& action) {
  auto home = OpenHome(action.seat);
  if (!home.ok()) {
    if (home.status().code() == absl::StatusCode::kNotFound) return model::ContentResult{};
    return home.status();
  }
  return WipeHomeContent(home->get(), options_.policy.Home(action.seat), action.workshop,
                         home_options_);
}

absl::StatusOr<model::ContentResult> RealContentDriver::Harvest(
    const model::ContentAction& action) {
  if (!model::IsSafeFolderName(action.workshop)) {
    return absl::InvalidArgumentError(
        fmt::format("workshop '{}' is not a plain folder name", action.workshop));
  }
  const std::string stem = fmt::format("{}-{}", action.registration_id, action.workshop);
  const std::string record_path =
      options_.archive_dir.empty() ? "" : fmt::format("{}/{}.json", options_.archive_dir, stem);
  model::ContentResult result;
  if (!record_path.empty() && FileExists(record_path)) {
    ASSIGN_OR_RETURN(std::string text, common::ReadFile(record_path));
    const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    auto record = model::HarvestResultFromJson(j);
    if (!record.ok()) {
      return absl::InternalError(fmt::format("harvest record '{}': {}", record_path,
                                             std::string(record.status().message())));
    }
    result.harvest = *std::move(record);
    return result;
  }

  const std::string home_name = options_.policy.Home(action.seat);
  ASSIGN_OR_RETURN(UniqueFd home, OpenHome(action.seat));
  const ManifestRead read = ReadManifest(home.get(), home_options_);
  if (!read.manifest || read.manifest->registration_id != action.registration_id ||
      read.manifest->workshop != action.workshop) {
    return absl::NotFoundError(
        fmt::format("home '{}' holds no content of registration {} workshop '{}'", home_name,
                    action.registration_id, action.workshop));
  }
  model::HarvestResult harvest;
  harvest.seat = action.seat;
  harvest.registration_id = action.registration_id;
  harvest.workshop = action.workshop;
  harvest.notebooks = ManifestProgress(home.get(), *read.manifest, home_options_);
  harvest.total = model::Total(harvest.notebooks);
  if (!record_path.empty()) {
    const std::string archive = fmt::format("{}/{}.tar.gz", options_.archive_dir, stem);
    auto summary = WriteFolderArchive(home.get(), read.manifest->folder, archive, options_.archive);
    if (summary.ok()) {
      harvest.archive = archive;
      harvest.skipped = summary->skipped;
    } else if (summary.status().code() != absl::StatusCode::kNotFound &&
               summary.status().code() != absl::StatusCode::kFailedPrecondition) {
      return summary.status();
    }  // else the participant removed or replaced the folder: nothing to take home
    // The record last: its presence says the archive is complete.
    RETURN_IF_ERROR(common::WriteFileAtomic(record_path, harvest.ToJson().dump(1) + "\n", 0600));
  }
  result.changed = true;
  result.harvest = std::move(harvest);
  return result;
}

}  // namespace wod::drivers::content
