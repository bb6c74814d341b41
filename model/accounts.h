// The vocabulary of the Linux accounts domain, shared by the accounts driver and the planner:
// the naming policy that says which users are ours, what the driver observes, the actions it
// can apply, and the password check the planner uses to leave converged seats alone.
// Pure value types; the only computation is crypt(3) hashing in PasswordMatches.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // Secret: the shadow password field as read. Never logged, printed or compared outside
  // PasswordMatches / PasswordCheckCache; Describe() leaves it out.
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

// True when `password` hashes to the account's shadow hash (crypt_r with the hash as setting;
// yescrypt, sha512crypt and every other method libxcrypt knows). A leading '!' (locked) is
// ignored, so locking does not put a seat's password out of sync. An empty, '*' or '!'-only
// hash matches nothing. Costs one full hash: ~30 ms for Debian 12's default yescrypt.
bool PasswordMatches(const ObservedAccount& account, std::string_view password);
bool ShadowHashMatches(std::string_view shadow_hash, std::string_view password);

// Memoizes PasswordMatches per user so a pass over 2,000 converged seats hashes nothing.
//
// The entry of a user holds (shadow hash, SHA-256 of the password) -> result; it answers only
// while both are the same, so a changed shadow file or a changed desired password recomputes.
// The driver that writes a password Remember()s the hash it wrote, so even the pass right
// after a password rotation hashes nothing. Without that (a fresh process), each seat costs
// one hash, once. The plain password is never stored. Thread-safe.
class PasswordCheckCache {
 public:
  bool Matches(const ObservedAccount& account, std::string_view password);
  // Records that `shadow_hash` is a hash of `password` for `user`.
  void Remember(std::string_view user, std::string_view shadow_hash, std::string_view password);
  void Forget(std::string_view user);
  size_t size() const;
  // How many real crypt_r computations Matches() has done: lets tests prove the cache works.
  int64_t computations() const;

 private:
  struct Entry {
    std::string shadow_hash;  // without a leading '!'
    // Secret. Kept as is (not as a digest: hashing 2,000 passwords was a visible part of a
    // no-op pass); the controller holds every seat's desired password in memory anyway.
    std::string password;
    bool matches = false;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  int64_t computations_ = 0;
};

}  // namespace wod::model
