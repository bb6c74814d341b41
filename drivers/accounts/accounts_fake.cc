#include "drivers/accounts/accounts_fake.h"

#include <string_view>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "drivers/accounts/etc_files.h"
#include "drivers/accounts/password_hash.h"

namespace wod::drivers::accounts {
namespace {

// yescrypt at its lowest cost: real hashes that PasswordMatches checks like any other, at
// ~2 ms instead of ~30 ms each.
constexpr int kFakeHashCost = 1;

}  // namespace

FakeAccountsDriver::FakeAccountsDriver(model::AccountPolicy policy) : policy_(std::move(policy)) {}

void FakeAccountsDriver::FailNext(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = std::move(status);
}

void FakeAccountsDriver::AddForeignUser(std::string name, uid_t uid, gid_t gid) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string home = "/home/" + name;
  users_.push_back(User{std::move(name), uid, gid, std::move(home), "/bin/sh", "*", "", ""});
}

void FakeAccountsDriver::AddGroup(std::string name, gid_t gid) {
  std::lock_guard<std::mutex> lock(mu_);
  groups_.push_back(Group{std::move(name), gid});
}

pid_t FakeAccountsDriver::StartProcess(uid_t uid) {
  std::lock_guard<std::mutex> lock(mu_);
  pid_t pid = next_pid_++;
  processes_[pid] = uid;
  return pid;
}

bool FakeAccountsDriver::ProcessAlive(pid_t pid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return processes_.count(pid) > 0;
}

bool FakeAccountsDriver::AddHomeEntry(const std::string& home, std::string name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = homes_.find(home);
  if (it == homes_.end()) return false;
  it->second.insert(std::move(name));
  return true;
}

std::optional<std::vector<std::string>> FakeAccountsDriver::HomeEntries(
    const std::string& home) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = homes_.find(home);
  if (it == homes_.end()) return std::nullopt;
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

int FakeAccountsDriver::mutations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mutations_;
}

AccountTables FakeAccountsDriver::Tables() const {
  AccountTables tables;
  for (const User& u : users_) {
    tables.passwd.push_back(PasswdEntry{u.name, u.uid, u.gid, u.gecos, u.home, u.shell});
    tables.shadow.emplace(u.name, u.shadow);
  }
  for (const Group& g : groups_) tables.group.push_back(GroupEntry{g.name, g.gid});
  return tables;
}

FakeAccountsDriver::User* FakeAccountsDriver::FindUser(std::string_view name) {
  for (User& u : users_) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

absl::StatusOr<model::ObservedAccounts> FakeAccountsDriver::Observe(
    const model::DesiredPasswords& desired_passwords) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_next_) {
    absl::Status status = *std::move(fail_next_);
    fail_next_.reset();
    return status;
  }
  std::unordered_map<uid_t, std::vector<pid_t>> pids;
  for (const auto& [pid, uid] : processes_) pids[uid].push_back(pid);  // map: pids sorted
  AccountTables tables = Tables();
  model::ObservedAccounts observed = AccountIndex(policy_, tables).Observe(pids);
  if (desired_passwords.empty()) return observed;
  // The stored password is the one whose hash is in the shadow field: only set-password
  // changes either (lock and unlock keep the hash behind the '!').
  std::unordered_map<std::string_view, const std::string*> stored;
  for (const User& u : users_) stored.emplace(u.name, &u.password);
  for (model::ObservedAccount& account : observed.accounts) {
    auto desired = desired_passwords.find(account.seat);
    auto password = stored.find(account.name);
    account.password_in_sync = desired != desired_passwords.end() && password != stored.end() &&
                               !password->second->empty() && *password->second == desired->second;
  }
  return observed;
}

absl::Status FakeAccountsDriver::Apply(const model::AccountAction& action) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_next_) {
    absl::Status status = *std::move(fail_next_);
    fail_next_.reset();
    return status;
  }
  return ApplyLocked(action);
}

absl::Status FakeAccountsDriver::ApplyLocked(const model::AccountAction& action) {
  const model::AccountPolicy& p = policy_;
  const int seat = action.seat;
  if (!p.ValidSeat(seat)) {
    return absl::InvalidArgumentError(
        absl::StrCat("seat ", seat, " is outside 0..", p.seat_count - 1));
  }
  using Kind = model::AccountAction::Kind;
  if (action.kind == Kind::kSetPassword && action.password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("empty password for seat ", seat));
  }
  if (action.kind == Kind::kCreate) {
    AccountTables tables = Tables();
    AccountIndex index(p, tables);
    if (!index.group_exists()) {
      if (const GroupEntry* other = index.GroupWithGid(p.gid)) {
        return absl::FailedPreconditionError(absl::StrCat("gid ", p.gid, " for group '", p.group,
                                                          "' is taken by group '",
                                                          std::string(other->name), "'"));
      }
      groups_.push_back(Group{p.group, p.gid});
      ++mutations_;
    }
  }
  AccountTables tables = Tables();
  AccountIndex index(p, tables);
  SeatLookup lookup = index.Lookup(seat);
  const std::string name = p.UserName(seat);
  if (lookup.state == SeatState::kForeign) return absl::FailedPreconditionError(lookup.reason);
  auto kill_all = [&](uid_t uid) {
    for (auto it = processes_.begin(); it != processes_.end();) {
      if (it->second == uid) {
        it = processes_.erase(it);
        ++mutations_;
      } else {
        ++it;
      }
    }
  };
  if (action.kind == Kind::kKillProcesses) {
    kill_all(p.Uid(seat));
    return absl::OkStatus();
  }
  if (lookup.state == SeatState::kAbsent) {
    if (action.kind == Kind::kDelete) return absl::OkStatus();
    if (action.kind != Kind::kCreate) {
      return absl::NotFoundError(absl::StrCat("user '", name, "' not found"));
    }
    users_.push_back(User{name, p.Uid(seat), index.group_gid(), p.Home(seat), p.shell, "!",
                          model::OccupantComment(seat, 0), ""});
    ++mutations_;
    if (homes_.emplace(p.Home(seat), std::set<std::string>()).second) ++mutations_;
    return absl::OkStatus();
  }
  User* user = FindUser(name);
  if (user->home != p.Home(seat)) {
    return absl::FailedPreconditionError(
        absl::StrCat("home of user '", name, "' is '", user->home, "', not '", p.Home(seat), "'"));
  }
  const bool locked = !user->shadow.empty() && user->shadow.front() == '!';
  switch (action.kind) {
    case Kind::kCreate:
      if (homes_.emplace(user->home, std::set<std::string>()).second) ++mutations_;
      return absl::OkStatus();
    case Kind::kSetPassword: {
      // Converged already: keep the hash, like the real driver.
      if (user->password == action.password) return absl::OkStatus();
      ASSIGN_OR_RETURN(std::string hash, HashPassword(action.password, kFakeHashCost));
      user->shadow = locked ? "!" + hash : hash;
      user->password = action.password;
      ++mutations_;
      return absl::OkStatus();
    }
    case Kind::kLock:
      if (!locked) {
        user->shadow = "!" + user->shadow;
        ++mutations_;
      }
      return absl::OkStatus();
    case Kind::kUnlock:
      if (!locked) return absl::OkStatus();
      if (user->shadow.find_first_not_of('!') == std::string::npos) {
        return absl::FailedPreconditionError(
            absl::StrCat("user '", name, "' has no password to unlock"));
      }
      user->shadow.erase(0, 1);
      ++mutations_;
      return absl::OkStatus();
    case Kind::kWipeHome: {
      for (const auto& [pid, uid] : processes_) {
        if (uid == user->uid) {
          return absl::AbortedError(
              absl::StrCat("user '", name, "' still runs processes: kill them before wiping"));
        }
      }
      auto& entries = homes_[user->home];
      if (!entries.empty()) {
        entries.clear();
        ++mutations_;
      }
      return absl::OkStatus();
    }
    case Kind::kDelete: {
      kill_all(user->uid);
      homes_.erase(user->home);
      users_.erase(users_.begin() + (user - users_.data()));
      ++mutations_;
      return absl::OkStatus();
    }
    case Kind::kSetOccupant: {
      std::string marker = model::OccupantComment(seat, action.registration_id);
      if (user->gecos != marker) {
        user->gecos = std::move(marker);
        ++mutations_;
      }
      return absl::OkStatus();
    }
    case Kind::kKillProcesses:
      break;  // handled above
  }
  return absl::OkStatus();
}

}  // namespace wod::drivers::accounts
