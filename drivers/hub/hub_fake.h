// An in-memory JupyterHub with the real driver's semantics, for planner and loop tests:
// users in creation order served page by page through the same paging code as the real
// driver, creation refused without a "Linux account" (as the PAM authenticator does), servers
// that can stay pending for a number of Observe() calls, a hub that is down or refuses the
// token, and FailNext() error injection. Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "drivers/hub/hub.h"

namespace wod::drivers {

struct HubFakeOptions {
  model::HubPolicy policy;
  int page_size = 200;
  // Create needs AddAccount(name) first, like the real hub with PAM; false: anyone can exist.
  bool require_account = true;
  // How many Observe() calls a started (stopped) server stays kPendingStart (kPendingStop)
  // before it is running (gone). 0: the transition is immediate, as a fast hub answers 201/204.
  int start_observes = 0;
  int stop_observes = 0;
  const common::Clock* clock = nullptr;  // stamps last_activity; the real clock when null
};

class HubFake final : public Hub {
 public:
  explicit HubFake(HubFakeOptions options = {});

  [[nodiscard]] absl::StatusOr<model::ObservedHub> Observe() override;
  [[nodiscard]] absl::Status Apply(const model::HubAction& action) override;

  // The next Observe() or Apply() returns `status` and changes nothing.
  void FailNext(absl::Status status);
  // Every call answers Unavailable, as when the hub is down.
  void SetDown(bool down);
  // Every call answers PermissionDenied, as when the service token is wrong.
  void SetTokenRejected(bool rejected);

  // The Linux accounts the hub can see (the PAM authenticator and the spawner need one).
  void AddAccount(const std::string& name);
  void RemoveAccount(const std::string& name);
  // Puts a user into the hub directly, as an operator or a previous run would (any name).
  void PutUser(const std::string& name, bool admin = false,
               model::HubServerState server = model::HubServerState::kNone);
  // The user's server dies (the hub notices on its next poll).
  void KillServer(const std::string& name);
  // Completes every pending start and stop now.
  void SettlePending();

  // Users pages served so far (each Observe() needs at least one).
  int pages_served() const;
  // Every Apply() that returned OK, in order.
  std::vector<model::HubAction> applied() const;

 private:
  struct User {
    std::string name;
    bool admin = false;
    model::HubServerState server = model::HubServerState::kNone;
    int pending_observes = 0;  // while server is pending: Observe() calls left
    std::optional<absl::Time> last_activity;
  };

  absl::Status Gate();  // down, token, FailNext; mu_ held
  User* Find(const std::string& name);
  absl::Status ApplyLocked(const model::HubAction& action, const std::string& name);
  absl::StatusOr<hub_internal::UsersPage> Page(int offset, int limit);
  absl::Time Now() const;

  const HubFakeOptions options_;
  mutable std::mutex mu_;
  std::vector<User> users_;  // creation order, as the hub orders by id
  std::set<std::string> accounts_;
  absl::Status fail_next_;
  bool down_ = false;
  bool token_rejected_ = false;
  int pages_served_ = 0;
  std::vector<model::HubAction> applied_;
};

}  // namespace wod::drivers
