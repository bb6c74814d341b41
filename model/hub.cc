#include "model/hub.h"
#include "model/types.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace wod::model {

std::optional<int> HubPolicy::SeatOfName(std::string_view name) const {
  return SeatOfUserName(name, user_prefix);
}

const char* HubServerStateName(HubServerState state) {
  switch (state) {
    case HubServerState::kNone:
      return "none";
    case HubServerState::kPendingStart:
      return "pending-start";
    case HubServerState::kRunning:
      return "running";
    case HubServerState::kPendingStop:
      return "pending-stop";
  }
  return "unknown";
}

std::string ObservedHubUser::Describe() const {
  std::string out =
      absl::StrCat("hub user '", name, "' seat ", seat, " server ", HubServerStateName(server));
  if (admin) absl::StrAppend(&out, " admin");
  return out;
}

const ObservedHubUser* ObservedHub::Find(int seat) const {
  auto it = std::lower_bound(users.begin(), users.end(), seat,
                             [](const ObservedHubUser& u, int s) { return u.seat < s; });
  if (it == users.end() || it->seat != seat) return nullptr;
  return &*it;
}

HubAction HubAction::CreateUser(int seat, std::string reason) {
  return HubAction{Kind::kCreateUser, seat, std::move(reason)};
}
HubAction HubAction::DeleteUser(int seat, std::string reason) {
  return HubAction{Kind::kDeleteUser, seat, std::move(reason)};
}
HubAction HubAction::StartServer(int seat, std::string reason) {
  return HubAction{Kind::kStartServer, seat, std::move(reason)};
}
HubAction HubAction::StopServer(int seat, std::string reason) {
  return HubAction{Kind::kStopServer, seat, std::move(reason)};
}

const char* HubActionKindName(HubAction::Kind kind) {
  switch (kind) {
    case HubAction::Kind::kCreateUser:
      return "create-user";
    case HubAction::Kind::kDeleteUser:
      return "delete-user";
    case HubAction::Kind::kStartServer:
      return "start-server";
    case HubAction::Kind::kStopServer:
      return "stop-server";
  }
  return "unknown";
}

std::string HubAction::Describe() const {
  std::string out = absl::StrCat(HubActionKindName(kind), " seat ", seat);
  if (!reason.empty()) absl::StrAppend(&out, " (", reason, ")");
  return out;
}

}  // namespace wod::model
