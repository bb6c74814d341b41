#include "reconcilers/accounts_planner.h"

#include "absl/strings/str_cat.h"

namespace wod::reconcilers {

using model::AccountAction;

AccountsPlan PlanAccounts(const DesiredState& desired, const model::ObservedAccounts& observed,
                          const model::AccountPolicy& policy, model::PasswordCheckCache* cache) {
  AccountsPlan plan;
  auto& out = plan.actions;
  for (const model::Seat& seat : desired.seats) {
    const int n = seat.number;
    if (!policy.ValidSeat(n)) {
      plan.problems.push_back({n, "accounts", "SeatOutOfRange",
                               absl::StrCat("seat ", n, " is outside the account policy's ",
                                            policy.seat_count, " seats")});
      continue;
    }
    const bool occupied = seat.registration_id.has_value();
    const model::ObservedAccount* account = observed.Find(n);
    if (account == nullptr) {
      out.push_back(AccountAction::Create(n, "seat has no account"));
      out.push_back(AccountAction::SetPassword(n, seat.password, "new account"));
      // A new account starts locked.
      if (occupied) out.push_back(AccountAction::Unlock(n, "seat is occupied"));
      continue;
    }
    const bool in_sync = cache != nullptr ? cache->Matches(*account, seat.password)
                                          : model::PasswordMatches(*account, seat.password);
    if (occupied) {
      if (!in_sync) {
        out.push_back(AccountAction::SetPassword(n, seat.password, "occupant's password not set"));
      }
      if (account->locked) out.push_back(AccountAction::Unlock(n, "seat is occupied"));
      continue;
    }
    // Vacant. An unlocked account means the seat was just vacated (locking is the last step of
    // vacating), so its home still holds the previous occupant's files.
    if (!account->pids.empty()) {
      out.push_back(AccountAction::KillProcesses(
          n, absl::StrCat("seat is vacant but ", account->pids.size(), " process(es) run")));
    }
    if (!account->locked) out.push_back(AccountAction::WipeHome(n, "seat vacated"));
    if (!in_sync) {
      out.push_back(AccountAction::SetPassword(n, seat.password, "vacant seat's password rotated"));
    }
    if (!account->locked) out.push_back(AccountAction::Lock(n, "seat is vacant"));
  }
  for (const model::ObservedAccount& account : observed.accounts) {
    if (desired.FindSeat(account.seat) == nullptr) {
      out.push_back(AccountAction::Delete(account.seat, "seat is no longer in the pool"));
    }
  }
  return plan;
}

}  // namespace wod::reconcilers
