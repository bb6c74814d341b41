#include "drivers/hub/hub_fake.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace wod::drivers {

using model::HubServerState;

HubFake::HubFake(HubFakeOptions options) : options_(std::move(options)) {}

absl::Time HubFake::Now() const {
  return options_.clock != nullptr ? options_.clock->Now() : absl::Now();
}

void HubFake::FailNext(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = std::move(status);
}

void HubFake::SetDown(bool down) {
  std::lock_guard<std::mutex> lock(mu_);
  down_ = down;
}

void HubFake::SetTokenRejected(bool rejected) {
  std::lock_guard<std::mutex> lock(mu_);
  token_rejected_ = rejected;
}

void HubFake::AddAccount(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_.insert(name);
}

void HubFake::RemoveAccount(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  accounts_.erase(name);
}

void HubFake::PutUser(const std::string& name, bool admin, HubServerState server) {
  std::lock_guard<std::mutex> lock(mu_);
  User* u = Find(name);
  if (u == nullptr) {
    users_.emplace_back();
    u = &users_.back();
    u->name = name;
  }
  u->admin = admin;
  u->server = server;
  u->pending_observes = 0;
}

void HubFake::KillServer(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (User* u = Find(name)) u->server = HubServerState::kNone;
}

void HubFake::SettlePending() {
  std::lock_guard<std::mutex> lock(mu_);
  for (User& u : users_) {
    if (u.server == HubServerState::kPendingStart) u.server = HubServerState::kRunning;
    if (u.server == HubServerState::kPendingStop) u.server = HubServerState::kNone;
    u.pending_observes = 0;
  }
}

int HubFake::pages_served() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pages_served_;
}

std::vector<model::HubAction> HubFake::applied() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_;
}

HubFake::User* HubFake::Find(const std::string& name) {
  auto it =
      std::find_if(users_.begin(), users_.end(), [&name](const User& u) { return u.name == name; });
  return it == users_.end() ? nullptr : &*it;
}

absl::Status HubFake::Gate() {
  if (!fail_next_.ok()) {
    absl::Status s = std::move(fail_next_);
    fail_next_ = absl::OkStatus();
    return s;
  }
  if (down_) return absl::UnavailableError("fake hub is down");
  if (token_rejected_) return absl::PermissionDeniedError("fake hub refused the service token");
  return absl::OkStatus();
}

absl::StatusOr<hub_internal::UsersPage> HubFake::Page(int offset, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (down_) return absl::UnavailableError("fake hub is down");
  ++pages_served_;
  hub_internal::UsersPage page;
  page.paginated = true;
  size_t begin = std::min(users_.size(), static_cast<size_t>(offset));
  size_t end = std::min(users_.size(), begin + static_cast<size_t>(limit));
  for (size_t i = begin; i < end; ++i) {
    const User& u = users_[i];
    page.users.push_back(hub_internal::HubUserRecord{u.name, u.admin, u.server, u.last_activity});
  }
  if (end < users_.size()) page.next_offset = static_cast<int>(end);
  return page;
}

absl::StatusOr<model::ObservedHub> HubFake::Observe() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Status s = Gate(); !s.ok()) return s;
    // Pending transitions progress as time passes; here, one step per Observe().
    for (User& u : users_) {
      bool pending =
          u.server == HubServerState::kPendingStart || u.server == HubServerState::kPendingStop;
      if (!pending) continue;
      if (u.pending_observes > 0) --u.pending_observes;
      if (u.pending_observes == 0) {
        u.server = u.server == HubServerState::kPendingStart ? HubServerState::kRunning
                                                             : HubServerState::kNone;
      }
    }
  }
  return hub_internal::CollectUsers(options_.policy, options_.page_size,
                                    [this](int offset, int limit) { return Page(offset, limit); });
}

absl::Status HubFake::Apply(const model::HubAction& action) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = Gate(); !s.ok()) return s;
  if (action.seat < 0) {
    return absl::InvalidArgumentError(absl::StrCat("hub action for invalid seat ", action.seat));
  }
  const std::string name = options_.policy.UserName(action.seat);
  absl::Status s = ApplyLocked(action, name);
  if (s.ok()) applied_.push_back(action);
  return s;
}

absl::Status HubFake::ApplyLocked(const model::HubAction& action, const std::string& name) {
  User* u = Find(name);
  switch (action.kind) {
    case model::HubAction::Kind::kCreateUser:
      if (u != nullptr) return absl::OkStatus();
      if (options_.require_account && accounts_.count(name) == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "create hub user '", name, "': hub answered 400: Failed to create user: ", name,
            " (does its linux account exist?)"));
      }
      users_.emplace_back();
      users_.back().name = name;
      return absl::OkStatus();

    case model::HubAction::Kind::kDeleteUser:
      if (u == nullptr) return absl::OkStatus();
      if (u->server == HubServerState::kPendingStop) {
        return absl::UnavailableError(
            absl::StrCat("delete hub user '", name, "': its server is still stopping"));
      }
      if (u->server == HubServerState::kRunning && options_.stop_observes > 0) {
        // The hub starts stopping the server and answers before it is gone.
        u->server = HubServerState::kPendingStop;
        u->pending_observes = options_.stop_observes;
        return absl::UnavailableError(
            absl::StrCat("delete hub user '", name, "': its server is still stopping"));
      }
      users_.erase(users_.begin() + (u - users_.data()));
      return absl::OkStatus();

    case model::HubAction::Kind::kStartServer:
      if (u == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("start server of hub user '", name, "': hub user '", name, "' not found"));
      }
      switch (u->server) {
        case HubServerState::kRunning:
        case HubServerState::kPendingStart:
          return absl::OkStatus();
        case HubServerState::kPendingStop:
          return absl::UnavailableError(
              absl::StrCat("start server of hub user '", name, "': the server is still stopping"));
        case HubServerState::kNone:
          break;
      }
      if (options_.require_account && accounts_.count(name) == 0) {
        // The spawner cannot run a process as a user that does not exist: the hub answers 500.
        return absl::UnavailableError(
            absl::StrCat("start server of hub user '", name, "': hub answered 500: spawn failed"));
      }
      u->server =
          options_.start_observes > 0 ? HubServerState::kPendingStart : HubServerState::kRunning;
      u->pending_observes = options_.start_observes;
      u->last_activity = Now();
      return absl::OkStatus();

    case model::HubAction::Kind::kStopServer:
      if (u == nullptr) return absl::OkStatus();
      switch (u->server) {
        case HubServerState::kNone:
        case HubServerState::kPendingStop:
          return absl::OkStatus();
        case HubServerState::kPendingStart:
          return absl::UnavailableError(
              absl::StrCat("stop server of hub user '", name,
                           "': the server is still starting; stop it once it is up"));
        case HubServerState::kRunning:
          break;
      }
      u->server = options_.stop_observes > 0 ? HubServerState::kPendingStop : HubServerState::kNone;
      u->pending_observes = options_.stop_observes;
      u->last_activity = Now();
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("unknown hub action");
}

}  // namespace wod::drivers
