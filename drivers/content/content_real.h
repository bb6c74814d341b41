// The real content driver: files in the homes of a root prefix ("/" in production, a temp dir in
// hermetic tests), homes at <root><policy.Home(seat)>.
//
// Observe is built to be cheap when nothing changed, so that a pass over 2,000 seats takes a few
// milliseconds: per home it lstats ~/.wod, the manifest, the folder and each notebook (one
// fstatat each, relative to the home base, no fd opened; every directory on the way below the
// home is checked to be a directory, not a symlink, as an O_NOFOLLOW open would) and re-parses
// only what changed, keyed by the file's stamp (device, inode, size, mtime, ctime — a rewrite,
// a replacement by rename and a touch-back all change it). A home is opened (O_NOFOLLOW) only
// to read what changed. Parsed manifests and notebook progress are cached per seat and updated
// in place; a new manifest drops the seat's notebook entries. stats() counts the parses, so
// tests prove the cache works. The newest notebook mtime (last_modified) comes from the same
// lstat, so the live progress costs no extra system call.
//
// Harvest records: with an archive directory, a harvest writes <archive>/<registration>-
// <workshop>.tar.gz (the take-home copy) and then <registration>-<workshop>.json (the result);
// a later harvest of the same registration returns that record without touching the home, so
// harvesting twice (a controller crashing between harvest and storing) gives the same result
// and one archive. Without an archive directory, nothing is written and a harvest recomputes.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "drivers/content/archive.h"
#include "drivers/content/content.h"
#include "drivers/content/home_content.h"
#include "drivers/content/render.h"
#include "model/accounts.h"

namespace wod::drivers::content {

struct RealContentOptions {
  std::string root = "/";  // absolute
  model::AccountPolicy policy;
  std::string archive_dir;  // absolute; "" = no archives and no harvest records
  // chown what we write to the home's owner and require the home to be owned by the seat's uid.
  // Unset: true when running as root.
  std::optional<bool> chown;
  bool sync = true;
  // Observe checks every manifest file exists, not only the folder and the notebooks.
  bool check_all_files = false;
  size_t max_notebook_bytes = 64u << 20;
  ArchiveOptions archive;
};

class RealContentDriver : public ContentDriver {
 public:
  // InvalidArgument for a relative root or archive dir.
  static absl::StatusOr<std::unique_ptr<RealContentDriver>> Create(RealContentOptions options);

  absl::StatusOr<model::ObservedContent> Observe() override;
  absl::StatusOr<model::ContentResult> Apply(const model::ContentAction& action) override;

  struct Stats {
    int64_t manifest_parses = 0;
    int64_t notebook_parses = 0;
    int64_t source_reads = 0;
  };
  Stats stats() const;
  const RealContentOptions& options() const { return options_; }
  // "<root>/home/student7" (what the system calls "/home/student7" under the prefix).
  std::string HomePath(int seat) const;

 private:
  struct NotebookEntry {
    FileStamp stamp;
    model::NotebookProgress progress;
  };
  struct SeatCache {
    uint64_t seen = 0;  // the Observe that last listed this home
    FileStamp manifest_stamp;
    std::shared_ptr<const ManifestRead> manifest;
    std::map<std::string, NotebookEntry> notebooks;
  };

  explicit RealContentDriver(RealContentOptions options);

  model::ObservedSeatContent ObserveHome(int base_fd, const DirEntry& entry, int seat,
                                         SeatCache& cache);
  absl::StatusOr<UniqueFd> OpenHome(int seat) const;
  absl::StatusOr<model::ContentResult> Deploy(const model::ContentAction& action);
  absl::StatusOr<model::ContentResult> Wipe(const model::ContentAction& action);
  absl::StatusOr<model::ContentResult> Harvest(const model::ContentAction& action);

  RealContentOptions options_;
  HomeOptions home_options_;
  SourceCache sources_;
  std::mutex observe_mu_;  // one Observe at a time: it owns cache_
  std::map<int, SeatCache> cache_;
  uint64_t observe_count_ = 0;
  std::atomic<int64_t> manifest_parses_{0};
  std::atomic<int64_t> notebook_parses_{0};
};

}  // namespace wod::drivers::content
