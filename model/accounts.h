// The vocabulary of the Linux accounts domain, shared by the accounts driver and the planner:
// the naming policy that says which users are ours, what the driver observes (including
// whether each seat's password is the desired one, so the planner leaves converged seats
// alone without hashing anything), and the actions it can apply. Pure value types.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wod::model {

// Which local users belong to wod. Seat N is user `<user_prefix>N` with uid `uid_base + N`,
// primary group `group`, home `<home_base>/<user_prefix>N`. A user is ours only when all of
// name, uid and group agree; anything else in the managed uid range is foreign.
struct AccountPolicy {
  std::string user_prefix = "student";
  uid_t uid_base = 10000;
  int seat_count = 10000;  // seats 0 .. seat_count-1, so uids uid_base .. uid_base+seat_count-1
  std::string group = "wod-students";
  gid_t gid = 10000;  // used when the group has to be created
  std::string home_base = "/home";
  std::string shell = "/bin/bash";

  bool ValidSeat(int seat) const { return seat >= 0 && seat < seat_count; }
  bool InUidRange(uid_t uid) const {
    return uid >= uid_base && uid - uid_base < static_cast<uid_t>(seat_count);
  }
  std::string UserName(int seat) const { return user_prefix + std::to_string(seat); }
  uid_t Uid(int seat) const { return uid_base + static_cast<uid_t>(seat); }
  std::string Home(int seat) const { return home_base + "/" + UserName(seat); }
  // The seat a user name stands for: "<user_prefix><digits>" without leading zeros, in range.
  std::optional<int> SeatOfName(std::string_view name) const;
};

// One of our accounts as found in passwd, shadow and /proc.
struct ObservedAccount {
  std::string name;
  int seat = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
  bool locked = false;  // the shadow hash starts with '!'
  // The shadow hash, ignoring a leading '!' (so a locked seat stays in sync), is a hash of the
  // seat's desired password as handed to the driver's Observe. False when no desired password
  // was given for the seat, or the hash is empty, '*' or '!' alone.
  bool password_in_sync = false;
  // Secret: the shadow password field as read. Never logged, printed or compared outside the
  // accounts driver's password check (drivers/accounts/password_hash.h); Describe() leaves it
  // out.
  std::string shadow_hash;
  std::vector<pid_t> pids;  // processes whose real or effective uid is `uid` (sorted)
  // The registration the account was last set up for, read from its occupant marker (the
  // passwd comment field, see OccupantComment): 0 when the marker says vacant, is empty or is
  // not ours. Non-zero for a registration other than the seat's occupant means the seat
  // changed hands and the home may still hold that registration's files and processes.
  int64_t occupant = 0;

  std::string Describe() const;  // for logs and test failures: no secret
};

// A user that sits in our uid range or takes one of our seat names but is not ours. Reported
// so that operators see the collision; never modified.
struct ForeignAccount {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string reason;  // why it is not ours: "not in group 'wod-students'", ...
  bool operator==(const ForeignAccount&) const = default;
};

// What the accounts driver checks passwords against: seat number -> the seat's desired
// password (secret), from the desired seats of the pass.
using DesiredPasswords = std::map<int, std::string>;

struct ObservedAccounts {
  bool group_exists = false;
  gid_t group_gid = 0;                    // valid when group_exists
  std::vector<ObservedAccount> accounts;  // ours, sorted by seat
  std::vector<ForeignAccount> foreign;    // sorted by uid, then name

  const ObservedAccount* Find(int seat) const;
};

struct AccountAction {
  enum class Kind {
    kCreate,         // account, group if missing, empty home (mode 0700)
    kSetPassword,    // keeps the locked/unlocked state as it is
    kLock,           // '!' in front of the shadow hash
    kUnlock,         // needs a password set first
    kKillProcesses,  // SIGTERM, grace period, SIGKILL
    kWipeHome,       // removes everything inside the home, keeps the home itself
    kDelete,         // kills processes, removes the account and its home
    kSetOccupant,    // writes the occupant marker: `registration_id`, or vacant when 0
  };
  Kind kind = Kind::kCreate;
  int seat = 0;
  std::string password;         // secret, kSetPassword only; never in Describe()
  int64_t registration_id = 0;  // kSetOccupant only; 0 = vacant (the home is clean)
  std::string reason;           // why the planner wants it, for events and logs

  static AccountAction Create(int seat, std::string reason);
  static AccountAction SetPassword(int seat, std::string password, std::string reason);
  static AccountAction Lock(int seat, std::string reason);
  static AccountAction Unlock(int seat, std::string reason);
  static AccountAction KillProcesses(int seat, std::string reason);
  static AccountAction WipeHome(int seat, std::string reason);
  static AccountAction Delete(int seat, std::string reason);
  static AccountAction SetOccupant(int seat, int64_t registration_id, std::string reason);

  // "set-password seat 7 (occupant changed)": no password.
  std::string Describe() const;
};

const char* AccountActionKindName(AccountAction::Kind kind);

// The occupant marker: a durable record, on the machine itself, of the registration a seat's
// account was last set up for, kept in the account's passwd comment (GECOS) field:
// "wod seat 7 registration 123", or "wod seat 7 vacant" once the home is clean again. It is
// what tells the controller that a seat changed hands even when nothing else does (the content
// manifest is already wiped, or the workshop has no notebooks): set before the account is
// unlocked for an occupant, cleared last when a seat is vacated.
std::string OccupantComment(int seat, int64_t registration_id);
// The registration a comment field names; 0 for "vacant", an empty field (an account made
// before markers existed) or anything that is not a marker.
int64_t OccupantOfComment(std::string_view comment);

}  // namespace wod::model
