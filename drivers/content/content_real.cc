#include "drivers/content/content_real.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "common/files.h"
#include "common/log.h"
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

const std::string& ManifestPath() {
  static const std::string path =
      fmt::format("{}/{}", model::kContentStateDir, model::kContentManifestName);
  return path;
}

// lstat of paths inside one home, each by one fstatat relative to the home base's fd instead of
// opening every directory on the way. fstatat follows symlinks in the directories of a path, so
// each directory below the home is first checked (once per home) to be a directory, not a
// symlink: what opening each component with O_NOFOLLOW checks. The home itself is not checked
// here: the caller knows it is a directory (readdir, or an O_NOFOLLOW open), and a participant
// cannot replace it (the home base is not theirs).
class HomeStat {
 public:
  HomeStat(int base_fd, const std::string& home) : base_fd_(base_fd), prefix_(home + "/") {}

  // 0 with *st filled, or the errno (ELOOP/ENOTDIR for a symlink or file on the way).
  int Lstat(std::string_view rel, struct stat* st) {
    for (size_t slash = rel.find('/'); slash != std::string_view::npos;
         slash = rel.find('/', slash + 1)) {
      if (const int err = CheckDir(rel.substr(0, slash)); err != 0) return err;
    }
    return LstatRaw(rel, st);
  }

  // 0 when rel is a directory itself, or the errno of opening it with O_NOFOLLOW|O_DIRECTORY.
  int CheckDir(std::string_view rel) {
    for (const auto& [dir, err] : dirs_) {
      if (dir == rel) return err;
    }
    struct stat st;
    int err = LstatRaw(rel, &st);
    if (err == 0 && !S_ISDIR(st.st_mode)) err = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
    dirs_.emplace_back(std::string(rel), err);
    return err;
  }

 private:
  int LstatRaw(std::string_view rel, struct stat* st) {
    path_.assign(prefix_);
    path_.append(rel);
    return fstatat(base_fd_, path_.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
  }

  int base_fd_;
  std::string prefix_;
  std::string path_;
  std::vector<std::pair<std::string, int>> dirs_;  // a few per home: a scan is fine
};

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
    // Archives are written unnamed (O_TMPFILE) and leave nothing when the writer dies; where
    // the filesystem has no O_TMPFILE they have a temp name, removed here once its writer is
    // gone (a controller killed mid-harvest, before this start).
    auto swept = common::RemoveStaleTempFiles(options.archive_dir);
    if (!swept.ok()) {
      WOD_LOG(kWarning, "content", "archive directory: {}", std::string(swept.status().message()));
    } else if (*swept > 0) {
      WOD_LOG(kInfo, "content", "removed {} temp file(s) of a writer that died from '{}'", *swept,
              options.archive_dir);
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
  const uint64_t pass = ++observe_count_;
  struct Home {
    const DirEntry* entry;
    int seat;
    SeatCache* cache;  // updated in place; the map is not changed while homes are observed
  };
  std::vector<Home> homes;
  homes.reserve(entries->size());
  for (const DirEntry& e : *entries) {
    const std::optional<int> seat = options_.policy.SeatOfName(e.name);
    if (!seat) continue;  // not a seat's home: not ours to look at
    homes.push_back(Home{&e, *seat, &cache_[*seat]});
  }
  model::ObservedContent out;
  out.seats.resize(homes.size());
  // Each home is a handful of fstatat calls, so a large backend is observed by two threads
  // (the machines of this kind have two cores); each home's cache entry is touched by one.
  auto observe_range = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      out.seats[i] = ObserveHome(base->get(), *homes[i].entry, homes[i].seat, *homes[i].cache);
      homes[i].cache->seen = pass;
    }
  };
  constexpr size_t kParallelFrom = 256;
  if (homes.size() >= kParallelFrom && std::thread::hardware_concurrency() > 1) {
    const size_t half = homes.size() / 2;
    std::thread other(observe_range, half, homes.size());
    observe_range(0, half);
    other.join();
  } else {
    observe_range(0, homes.size());
  }
  // Homes gone since, and homes without a manifest of ours, keep nothing.
  std::erase_if(cache_, [pass](const auto& entry) {
    return entry.second.seen != pass || entry.second.manifest == nullptr;
  });
  std::sort(out.seats.begin(), out.seats.end(),
            [](const auto& a, const auto& b) { return a.seat < b.seat; });
  return out;
}

model::ObservedSeatContent RealContentDriver::ObserveHome(int base_fd, const DirEntry& entry,
                                                          int seat, SeatCache& cache) {
  model::ObservedSeatContent out;
  out.seat = seat;
  out.home = options_.policy.Home(seat);
  // The home is opened (O_NOFOLLOW) only to read something that changed, or when readdir does
  // not say it is a directory (a symlink, a file, or a filesystem without d_type): then the
  // open tells.
  UniqueFd home;
  auto open_home = [&]() {
    if (!home.ok()) {
      home = UniqueFd(
          openat(base_fd, entry.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }
    return home.ok();
  };
  auto cannot_open = [&]() {
    model::ObservedSeatContent bad;
    bad.seat = seat;
    bad.home = out.home;
    bad.manifest_state = Manifest::kCorrupt;
    bad.manifest_error = std::string(ErrnoStatus(errno, "cannot open home", bad.home).message());
    cache = SeatCache{};
    return bad;
  };
  if (entry.type != DT_DIR && !open_home()) return cannot_open();
  HomeStat fs(base_fd, entry.name);
  struct stat manifest_st;
  if (fs.Lstat(ManifestPath(), &manifest_st) != 0) {
    out.manifest_state = Manifest::kMissing;
    cache = SeatCache{};
    return out;
  }
  const FileStamp stamp = StampOf(manifest_st);
  if (cache.manifest == nullptr || !(cache.manifest_stamp == stamp)) {
    if (!open_home()) return cannot_open();
    auto read = std::make_shared<ManifestRead>(ReadManifest(home.get(), home_options_));
    ++manifest_parses_;
    cache = SeatCache{};
    if (read->state == Manifest::kMissing) {  // removed between the stat and the read
      out.manifest_state = Manifest::kMissing;
      return out;
    }
    cache.manifest_stamp = read->stamp.value_or(stamp);
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

  const bool folder_ok = fs.CheckDir(m.folder) == 0;
  if (!folder_ok) out.missing_files.push_back(m.folder);
  out.notebooks.reserve(m.notebooks.size());
  std::optional<int64_t> newest_ns;  // the newest notebook mtime: the participant's last save
  for (const auto& [path, baseline] : m.notebooks) {
    struct stat st;
    const bool found = folder_ok && fs.Lstat(path, &st) == 0;
    if (!found || !S_ISREG(st.st_mode)) {
      if (folder_ok) out.missing_files.push_back(path);
      cache.notebooks.erase(path);
      model::NotebookProgress p;
      p.file = path;
      p.readable = false;
      p.error = found ? "not a regular file" : "missing";
      out.notebooks.push_back(std::move(p));
      continue;
    }
    const FileStamp nb_stamp = StampOf(st);
    if (!newest_ns || nb_stamp.mtime_ns > *newest_ns) newest_ns = nb_stamp.mtime_ns;
    auto it = cache.notebooks.find(path);
    if (it != cache.notebooks.end() && it->second.stamp == nb_stamp) {
      out.notebooks.push_back(it->second.progress);
      continue;
    }
    if (!open_home()) return cannot_open();
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
  if (options_.check_all_files && folder_ok) {
    for (const model::ManifestFile& f : m.files) {
      if (m.notebooks.count(f.path) != 0) continue;
      struct stat st;
      if (fs.Lstat(f.path, &st) != 0 || !S_ISREG(st.st_mode)) out.missing_files.push_back(f.path);
    }
  }
  std::sort(out.missing_files.begin(), out.missing_files.end());
  out.files_intact = out.missing_files.empty();
  out.total = model::Total(out.notebooks);
  if (newest_ns) out.last_modified = absl::FromUnixNanos(*newest_ns);
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
    if (fstat(home.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat", home_name);
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
