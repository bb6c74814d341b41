#include "reconcilers/accounts_planner.h"

#include "absl/strings/str_cat.h"

namespace wod::reconcilers {

using model::AccountAction;

AccountsPlan PlanAccounts(const DesiredState& desired, const model::ObservedAccounts& observed,
                          const model::AccountPolicy& policy) {
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
      // A new account starts locked, its home empty and its marker vacant.
      if (occupied) {
        out.push_back(AccountAction::SetOccupant(n, *seat.registration_id, "seat is occupied"));
        out.push_back(AccountAction::Unlock(n, "seat is occupied"));
      }
      continue;
    }
    const bool in_sync = account->password_in_sync;
    // The marker names the registration the account was last set up for. Another one than
    // the occupant's means the seat changed hands and the home is not clean yet: vacate it
    // first, whatever else says so (the content manifest may be gone already).
    const int64_t marker = account->occupant;
    const bool changed_hands = marker != 0 && (!occupied || marker != *seat.registration_id);
    if (occupied && !changed_hands) {
      if (!in_sync) {
        out.push_back(AccountAction::SetPassword(n, seat.password, "occupant's password not set"));
      }
      // Before unlocking: a crash after the unlock must still find whose the home is.
      if (marker == 0) {
        out.push_back(AccountAction::SetOccupant(n, *seat.registration_id, "seat is occupied"));
      }
      if (account->locked) out.push_back(AccountAction::Unlock(n, "seat is occupied"));
      continue;
    }
    // Vacate: lock out the previous occupant, stop what runs, wipe, and only then clear the
    // marker, so a pass stopped anywhere before leaves the marker and the next pass vacates
    // again. An unlocked account without a marker (made before markers existed) is treated
    // as just vacated too.
    std::string why = "seat vacated";
    if (occupied) {
      why = absl::StrCat("seat changes hands: registration ", marker, " left");
    } else if (marker != 0) {
      why = absl::StrCat("seat vacated by registration ", marker);
    }
    if (!account->locked) {
      out.push_back(AccountAction::Lock(n, occupied ? why : "seat is vacant"));
    }
    if (!in_sync) {
      out.push_back(AccountAction::SetPassword(
          n, seat.password,
          occupied ? "occupant's password not set" : "vacant seat's password rotated"));
    }
    if (!account->pids.empty()) {
      out.push_back(
          AccountAction::KillProcesses(n, absl::StrCat(occupied ? why : "seat is vacant", " but ",
                                                       account->pids.size(), " process(es) run")));
    }
    if (!account->locked || marker != 0) out.push_back(AccountAction::WipeHome(n, why));
    if (marker != 0) {
      out.push_back(AccountAction::SetOccupant(n, 0, absl::StrCat(why, ": home wiped")));
    }
  }
  for (const model::ObservedAccount& account : observed.accounts) {
    if (desired.FindSeat(account.seat) == nullptr) {
      out.push_back(AccountAction::Delete(account.seat, "seat is no longer in the pool"));
    }
  }
  return plan;
}

}  // namespace wod::reconcilers
