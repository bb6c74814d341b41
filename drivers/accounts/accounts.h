// The accounts driver: observes and changes the local Linux users wod owns (one per seat).
// Implementations: RealAccountsDriver (shadow-utils under a root prefix) and
// FakeAccountsDriver (in memory, for planner and loop tests). Both pass one contract suite:
// tests/drivers/accounts_contract_test.cc.
#pragma once

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/accounts.h"

namespace wod::drivers::accounts {

class AccountsDriver {
 public:
  virtual ~AccountsDriver() = default;

  // Every account of ours (users in the managed uid range with a seat name and the managed
  // group), their processes, and the foreign users in our range or with our names. Each
  // account's password_in_sync says whether its shadow hash is a hash of the seat's password
  // in `desired_passwords` (a seat missing there: false). Checking costs a crypt(3) hash; the
  // driver remembers what it checked and what it wrote, so a pass over converged seats, or
  // right after a rotation, hashes nothing. Unavailable when the account files cannot be read.
  [[nodiscard]] virtual absl::StatusOr<model::ObservedAccounts> Observe(
      const model::DesiredPasswords& desired_passwords) = 0;
  // For callers that do not plan (tests, cleanup sweeps): every password_in_sync is false, so
  // never plan with it. Derived drivers bring it in with `using AccountsDriver::Observe`.
  [[nodiscard]] absl::StatusOr<model::ObservedAccounts> Observe() {
    return Observe(model::DesiredPasswords{});
  }

  // Applies one action; idempotent (applying it twice is the same as once). Errors:
  //   InvalidArgument     seat outside the policy's range, empty password
  //   NotFound            the seat's account does not exist (set-password, lock, unlock, wipe,
  //                       set-occupant)
  //   FailedPrecondition  the seat's name or uid belongs to a foreign user (never modified),
  //                       unlock without a password, a home that is not where it should be
  //   Aborted             the account changed under us (processes still running): re-observe
  //   Unavailable         a command could not run, timed out, or found the files locked
  //   Internal            a command failed otherwise (its stderr, without secrets)
  // Create and delete succeed when the account already exists / is already gone.
  [[nodiscard]] virtual absl::Status Apply(const model::AccountAction& action) = 0;

  // Applies one seat's consecutive actions in order, with the effect of Apply on each one by
  // one; a driver may carry out several in one command (RealAccountsDriver: a set-occupant
  // followed by an unlock is one usermod, the step that turns a warm seat over to its
  // participant). `on_done(i)` is called as soon as action i has taken effect, in order.
  // `done` counts the actions that took effect before the first failure, whose error is
  // `error` (OK when all did).
  struct SeriesResult {
    size_t done = 0;
    absl::Status error;
  };
  using OnDone = std::function<void(size_t index)>;
  [[nodiscard]] virtual SeriesResult ApplySeries(absl::Span<const model::AccountAction> actions,
                                                 const OnDone& on_done) {
    SeriesResult result;
    for (const auto& action : actions) {
      result.error = Apply(action);
      if (!result.error.ok()) break;
      on_done(result.done++);
    }
    return result;
  }
};

}  // namespace wod::drivers::accounts
