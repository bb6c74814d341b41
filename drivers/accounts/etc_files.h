// Reading the local account databases (passwd, shadow, group) as text, and deciding from
// them which users are ours: the one place that says what "ours" and "foreign" mean, shared
// by the real driver (files under a root prefix) and the fake (in-memory tables).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/accounts.h"

namespace wod::drivers::accounts {

// Views into the text of the files; valid as long as that text is.
struct PasswdEntry {
  std::string_view name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string_view gecos;  // the comment field: holds our occupant marker
  std::string_view home;
  std::string_view shell;
};

struct GroupEntry {
  std::string_view name;
  gid_t gid = 0;
};

struct AccountTables {
  std::vector<PasswdEntry> passwd;
  std::unordered_map<std::string_view, std::string_view> shadow;  // name -> password field
  std::vector<GroupEntry> group;
};

// Line-by-line parsers. Lines that do not have the fields of their format (comments, NIS "+"
// entries, truncated lines) are skipped: they name no local user we could own.
std::vector<PasswdEntry> ParsePasswd(std::string_view text);
std::unordered_map<std::string_view, std::string_view> ParseShadow(std::string_view text);
std::vector<GroupEntry> ParseGroup(std::string_view text);

// How one seat's account stands.
enum class SeatState {
  kAbsent,   // no user with the seat's name or uid
  kOurs,     // the user exists and is ours
  kForeign,  // a user holds the seat's name or uid but is not ours: never touch it
};

struct SeatLookup {
  SeatState state = SeatState::kAbsent;
  const PasswdEntry* entry = nullptr;  // set when kOurs
  std::string reason;                  // set when kForeign
};

// An index over the tables: built once per observation, O(users).
class AccountIndex {
 public:
  AccountIndex(const model::AccountPolicy& policy, const AccountTables& tables);

  bool group_exists() const { return group_ != nullptr; }
  gid_t group_gid() const { return group_ != nullptr ? group_->gid : 0; }
  // The group named `name`, or one with `gid`: nullptr when none.
  const GroupEntry* GroupNamed(std::string_view name) const;
  const GroupEntry* GroupWithGid(gid_t gid) const;

  SeatLookup Lookup(int seat) const;
  // Ours and foreign users, with `pids_by_uid` attached to ours.
  model::ObservedAccounts Observe(
      const std::unordered_map<uid_t, std::vector<pid_t>>& pids_by_uid) const;

 private:
  // Empty when `entry` is ours, else why it is not.
  std::string ForeignReason(const PasswdEntry& entry) const;

  const model::AccountPolicy& policy_;
  const AccountTables& tables_;
  const GroupEntry* group_ = nullptr;
  std::unordered_map<std::string_view, const PasswdEntry*> by_name_;  // first entry wins
  std::unordered_map<uid_t, std::vector<const PasswdEntry*>> by_uid_;
};

}  // namespace wod::drivers::accounts
