// An in-memory content driver for planner and loop tests. Homes are maps of relative path to
// bytes; deploy renders with the same code as the real driver (render.h: it reads the
// workshop's source folder from disk, which is the desired state, not the system under
// control), so content hashes, baselines, idempotency, RESET, wipe, harvest records and the
// error codes match. It passes the same contract suite as the real driver.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "drivers/content/content.h"
#include "drivers/content/render.h"
#include "model/accounts.h"

namespace wod::drivers::content {

class FakeContentDriver : public ContentDriver {
 public:
  // With an archive_dir, harvests keep records (and name an archive under it) as the real
  // driver does; nothing is written to disk.
  explicit FakeContentDriver(model::AccountPolicy policy = {}, std::string archive_dir = "");

  absl::StatusOr<model::ObservedContent> Observe() override;
  absl::StatusOr<model::ContentResult> Apply(const model::ContentAction& action) override;

  // The next Observe or Apply returns `status` and changes nothing.
  void FailNext(absl::Status status);

  // Test setup: the accounts side makes and removes homes.
  void AddHome(int seat);
  void RemoveHome(int seat);
  bool HasHome(int seat) const;

  // The modification time the fake gives files written from now on (by deploys and by
  // WriteFile); the Unix epoch until set. Observe reports the newest of a home's notebooks.
  void SetNow(absl::Time now);

  // The participant's side, paths relative to the home. WriteFile fails without the home.
  std::optional<std::string> ReadFile(int seat, const std::string& path) const;
  bool WriteFile(int seat, const std::string& path, std::string data);
  bool RemoveFile(int seat, const std::string& path);
  // Every file and directory in a home (directories end with '/'), sorted.
  std::vector<std::string> ListHome(int seat) const;

  int files_written() const;  // by deploys: a converged deploy adds nothing
  // Notebooks parsed by Observe: a home observed before and not changed since (by Apply, the
  // participant's WriteFile/RemoveFile, AddHome/RemoveHome) is not parsed again.
  int notebook_parses() const;

 private:
  struct Home {
    std::map<std::string, std::string> files;
    std::map<std::string, absl::Time> mtimes;  // by file; a file without one is at the epoch
    std::set<std::string> dirs;
  };

  absl::StatusOr<model::ContentResult> ApplyLocked(const model::ContentAction& action);
  static bool RemoveTree(Home& home, const std::string& path);
  std::optional<model::ContentManifest> ManifestOf(const Home& home) const;
  model::ObservedSeatContent ObserveHome(int seat, const Home& home) const;

  model::AccountPolicy policy_;
  std::string archive_dir_;
  SourceCache sources_;
  mutable std::mutex mu_;
  std::optional<absl::Status> fail_next_;
  absl::Time now_ = absl::UnixEpoch();
  std::map<int, Home> homes_;
  // The last observation of each home, dropped whenever the home changes.
  std::map<int, model::ObservedSeatContent> observed_;
  std::map<std::string, model::HarvestResult> records_;  // by "<registration>-<workshop>"
  int files_written_ = 0;
  mutable int notebook_parses_ = 0;
};

}  // namespace wod::drivers::content
