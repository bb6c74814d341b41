// The vocabulary of the JupyterHub domain, shared by the hub driver and the planner: which hub
// users are ours, what the driver observes of them (the user and the state of its default
// single-user server), and the actions it can apply. Pure value types, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace wod::model {

// Which hub users belong to wod: seat N is hub user `<user_prefix>N` (the same name as its
// Linux account). Every other hub user (admins, instructors, leftovers) is foreign.
struct HubPolicy {
  std::string user_prefix = "student";

  std::string UserName(int seat) const { return user_prefix + std::to_string(seat); }
  // The seat a hub user name stands for: "<user_prefix><digits>", at most 9 digits, no leading
  // zeros (so each seat has exactly one name), or nullopt when the user is not ours.
  std::optional<int> SeatOfName(std::string_view name) const;
};

// The default single-user server of a hub user, as the hub reports it. Pending states are
// normal: the driver never waits for a server, so a start is seen as kPendingStart first.
enum class HubServerState {
  kNone,          // no server (never started, stopped, or died and noticed by the hub)
  kPendingStart,  // spawn requested, not yet answering
  kRunning,       // ready: the proxy routes /user/<name>/ to it
  kPendingStop,   // stop requested, not yet gone
};

const char* HubServerStateName(HubServerState state);  // "none", "pending-start", ...

struct ObservedHubUser {
  std::string name;
  int seat = 0;
  bool admin = false;
  HubServerState server = HubServerState::kNone;
  std::optional<absl::Time> last_activity;  // nullopt: never active

  std::string Describe() const;  // "hub user 'student7' seat 7 server running"
  bool operator==(const ObservedHubUser&) const = default;
};

struct ObservedHub {
  std::vector<ObservedHubUser> users;  // ours, sorted by seat
  std::vector<std::string> foreign;    // names of the other hub users, sorted; never touched

  const ObservedHubUser* Find(int seat) const;
};

struct HubAction {
  enum class Kind {
    kCreateUser,   // needs the seat's Linux account first (PAM authenticator)
    kDeleteUser,   // stops its server first
    kStartServer,  // returns once the hub accepted it; the server may still be pending
    kStopServer,
  };
  Kind kind = Kind::kCreateUser;
  int seat = 0;
  std::string reason;  // why the planner wants it, for events and logs

  static HubAction CreateUser(int seat, std::string reason);
  static HubAction DeleteUser(int seat, std::string reason);
  static HubAction StartServer(int seat, std::string reason);
  static HubAction StopServer(int seat, std::string reason);

  // "start-server seat 7 (occupant registered)"
  std::string Describe() const;
  bool operator==(const HubAction&) const = default;
};

const char* HubActionKindName(HubAction::Kind kind);  // "create-user", "delete-user", ...

}  // namespace wod::model
