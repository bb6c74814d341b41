#include "model/accounts.h"
#include "model/types.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/random.h"

namespace wod::model {

std::optional<int> AccountPolicy::SeatOfName(std::string_view name) const {
  std::optional<int> seat = SeatOfUserName(name, user_prefix);
  if (!seat || !ValidSeat(*seat)) return std::nullopt;
  return seat;
}

std::string ObservedAccount::Describe() const {
  std::string out =
      absl::StrCat("user '", name, "' seat ", seat, " uid ", uid, " gid ", gid, " home '", home,
                   "' shell '", shell, "'", locked ? " locked" : " unlocked");
  if (!pids.empty()) absl::StrAppend(&out, " processes ", pids.size());
  if (occupant != 0) absl::StrAppend(&out, " occupant ", occupant);
  return out;
}

const ObservedAccount* ObservedAccounts::Find(int seat) const {
  auto it = std::lower_bound(accounts.begin(), accounts.end(), seat,
                             [](const ObservedAccount& a, int s) { return a.seat < s; });
  if (it == accounts.end() || it->seat != seat) return nullptr;
  return &*it;
}

const char* AccountActionKindName(AccountAction::Kind kind) {
  switch (kind) {
    case AccountAction::Kind::kCreate:
      return "create";
    case AccountAction::Kind::kSetPassword:
      return "set-password";
    case AccountAction::Kind::kLock:
      return "lock";
    case AccountAction::Kind::kUnlock:
      return "unlock";
    case AccountAction::Kind::kKillProcesses:
      return "kill-processes";
    case AccountAction::Kind::kWipeHome:
      return "wipe-home";
    case AccountAction::Kind::kDelete:
      return "delete";
    case AccountAction::Kind::kSetOccupant:
      return "set-occupant";
  }
  return "unknown";
}

namespace {
AccountAction MakeAction(AccountAction::Kind kind, int seat, std::string reason) {
  AccountAction action;
  action.kind = kind;
  action.seat = seat;
  action.reason = std::move(reason);
  return action;
}
}  // namespace

AccountAction AccountAction::Create(int seat, std::string reason) {
  return MakeAction(Kind::kCreate, seat, std::move(reason));
}
AccountAction AccountAction::SetPassword(int seat, std::string password, std::string reason) {
  AccountAction action = MakeAction(Kind::kSetPassword, seat, std::move(reason));
  action.password = std::move(password);
  return action;
}
AccountAction AccountAction::Lock(int seat, std::string reason) {
  return MakeAction(Kind::kLock, seat, std::move(reason));
}
AccountAction AccountAction::Unlock(int seat, std::string reason) {
  return MakeAction(Kind::kUnlock, seat, std::move(reason));
}
AccountAction AccountAction::KillProcesses(int seat, std::string reason) {
  return MakeAction(Kind::kKillProcesses, seat, std::move(reason));
}
AccountAction AccountAction::WipeHome(int seat, std::string reason) {
  return MakeAction(Kind::kWipeHome, seat, std::move(reason));
}
AccountAction AccountAction::Delete(int seat, std::string reason) {
  return MakeAction(Kind::kDelete, seat, std::move(reason));
}

AccountAction AccountAction::SetOccupant(int seat, int64_t registration_id, std::string reason) {
  AccountAction action = MakeAction(Kind::kSetOccupant, seat, std::move(reason));
  action.registration_id = registration_id;
  return action;
}

std::string AccountAction::Describe() const {
  std::string out = absl::StrCat(AccountActionKindName(kind), " seat ", seat);
  if (kind == Kind::kSetOccupant) {
    if (registration_id != 0) {
      absl::StrAppend(&out, " registration ", registration_id);
    } else {
      absl::StrAppend(&out, " vacant");
    }
  }
  if (!reason.empty()) absl::StrAppend(&out, " (", reason, ")");
  return out;
}

std::string OccupantComment(int seat, int64_t registration_id) {
  if (registration_id == 0) return absl::StrCat("wod seat ", seat, " vacant");
  return absl::StrCat("wod seat ", seat, " registration ", registration_id);
}

int64_t OccupantOfComment(std::string_view comment) {
  // "wod seat <n> registration <id>"; any other text names no registration.
  std::vector<absl::string_view> words =
      absl::StrSplit(absl::string_view(comment.data(), comment.size()), ' ');
  if (words.size() != 5 || words[0] != "wod" || words[1] != "seat" || words[3] != "registration") {
    return 0;
  }
  int seat = 0;
  int64_t id = 0;
  if (!absl::SimpleAtoi(words[2], &seat) || !absl::SimpleAtoi(words[4], &id) || id <= 0) return 0;
  return id;
}

}  // namespace wod::model
