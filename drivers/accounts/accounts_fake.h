// An in-memory accounts driver for planner and loop tests. It keeps passwd/shadow/group as
// tables and decides ownership with the same code as the real driver (etc_files.h), so
// "ours", "foreign", idempotency and the error codes match; it passes the same contract suite.
// Homes are sets of entry names, processes are fake pids. Shadow hashes are real (yescrypt at
// cost 1), but password_in_sync compares the desired password with the one it stored at
// set-password: the fake never hashes to check.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drivers/accounts/accounts.h"
#include "drivers/accounts/etc_files.h"

namespace wod::drivers::accounts {

class FakeAccountsDriver : public AccountsDriver {
 public:
  explicit FakeAccountsDriver(model::AccountPolicy policy = {});

  using AccountsDriver::Observe;
  absl::StatusOr<model::ObservedAccounts> Observe(
      const model::DesiredPasswords& desired_passwords) override;
  absl::Status Apply(const model::AccountAction& action) override;

  // The next Observe or Apply returns `status` and changes nothing.
  void FailNext(absl::Status status);

  // Test setup: a user wod does not own (any name, uid, gid), e.g. in the managed uid range.
  void AddForeignUser(std::string name, uid_t uid, gid_t gid);
  void AddGroup(std::string name, gid_t gid);
  // A process running as `uid`; returns its fake pid.
  pid_t StartProcess(uid_t uid);
  bool ProcessAlive(pid_t pid) const;
  // Puts an entry into a home (false when the home does not exist) and lists a home.
  bool AddHomeEntry(const std::string& home, std::string name);
  std::optional<std::vector<std::string>> HomeEntries(const std::string& home) const;
  // How many changes Apply made: applying an action twice adds nothing the second time.
  int mutations() const;

  const model::AccountPolicy& policy() const { return policy_; }

 private:
  struct User {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
    std::string shell;
    std::string shadow;  // password field: "!" for a new account, like useradd
    std::string gecos;   // comment field: the occupant marker
    // Secret: what the last set-password wrote (its hash is in `shadow`); empty before one.
    std::string password;
  };
  struct Group {
    std::string name;
    gid_t gid = 0;
  };

  AccountTables Tables() const;  // views into users_ and groups_
  User* FindUser(std::string_view name);
  absl::Status ApplyLocked(const model::AccountAction& action);

  model::AccountPolicy policy_;
  mutable std::mutex mu_;
  std::optional<absl::Status> fail_next_;
  std::vector<User> users_;
  std::vector<Group> groups_;
  std::map<pid_t, uid_t> processes_;
  pid_t next_pid_ = 40000;
  std::map<std::string, std::set<std::string>> homes_;
  int mutations_ = 0;
};

}  // namespace wod::drivers::accounts
