// The real accounts driver: reads passwd/shadow/group under a root prefix and changes them
// with shadow-utils (useradd, usermod, userdel, groupadd, chpasswd) run from an argv, never a
// shell. The seat's occupant marker (model::OccupantComment) lives in the passwd comment
// field, written by `useradd -c` and `usermod -c`.
//
// Why read the files and not getpwent(3): NSS may reach LDAP or SSSD on a managed host, which
// is slow (a pass must observe 2,000 seats in milliseconds), may be down, and lists users we
// do not own anyway. Ours are local by construction (useradd writes the local files).
//
// Root prefix ("/" in production, a temp dir in hermetic tests). Debian 12's shadow-utils 4.13
// has two options; what each does, as tried here against a bare temp root:
//   --prefix DIR  (useradd, usermod, userdel, groupadd) edits DIR/etc/* in place, no chroot,
//                 no PAM, host binaries: works on a root holding only etc/{passwd,shadow,
//                 group,gshadow,login.defs}. We use it.
//   --root DIR    chroots first, then runs PAM and NSS inside DIR: `chpasswd --root` with a
//                 clear password fails there ("pam_start failure 26").
// chpasswd has no --prefix. So the driver hashes passwords itself (yescrypt, libxcrypt, the
// same method and cost as Debian's default) and runs `chpasswd -e [--root DIR]` with
// "user:hash" on stdin: the -e path skips PAM and only edits DIR/etc/shadow, so it works
// under a prefix, and production and tests share one code path. Neither the password nor the
// hash ever appears on an argv (visible in /proc/*/cmdline) or in a log.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "drivers/accounts/accounts.h"
#include "drivers/accounts/password_check.h"
#include "drivers/accounts/processes.h"

namespace wod::drivers::accounts {

struct RealAccountsOptions {
  std::string root = "/";  // absolute; "/" is the real system
  model::AccountPolicy policy;
  // Where processes are found and killed. Empty: no process handling. Unset: "/proc" when
  // root is "/", empty otherwise (users under a temp root own no processes of the host).
  std::optional<std::string> proc_dir;
  KillOptions kill;
  absl::Duration command_timeout = absl::Seconds(30);
  int hash_cost = 0;  // yescrypt cost, 0 = Debian's default
  // Where the password check memo is kept between processes (PasswordCheckCache::Load/Save);
  // "" = nowhere (every process checks each seat's password once by hashing). Read when the
  // driver is made; written after an Observe that learnt something and when the driver goes,
  // unless `read_only_memo` (`wod drift --live` reads it, and writes nothing).
  std::string password_memo;
  bool read_only_memo = false;
};

class RealAccountsDriver : public AccountsDriver {
 public:
  // InvalidArgument for a relative root or an empty user prefix / group.
  static absl::StatusOr<std::unique_ptr<RealAccountsDriver>> Create(RealAccountsOptions options);
  ~RealAccountsDriver() override;  // saves the password check memo

  using AccountsDriver::Observe;
  // Checks each account's password through password_cache(): crypt(3) only for a (shadow hash,
  // desired password) pair it has neither checked nor written before.
  absl::StatusOr<model::ObservedAccounts> Observe(
      const model::DesiredPasswords& desired_passwords) override;
  absl::Status Apply(const model::AccountAction& action) override;
  // Merges set-occupant + unlock of a seat into one `usermod -c MARKER -U`.
  SeriesResult ApplySeries(absl::Span<const model::AccountAction> actions,
                           const OnDone& on_done) override;

  const RealAccountsOptions& options() const { return options_; }
  // For tests and benchmarks: how many crypt computations the password checks took.
  const PasswordCheckCache& password_cache() const { return password_cache_; }

 private:
  struct Snapshot;
  explicit RealAccountsDriver(RealAccountsOptions options);

  void SaveMemo();  // best effort: a memo that cannot be written is logged

  // Reads the three files once. Callers hold mu_.
  absl::StatusOr<std::unique_ptr<Snapshot>> ReadSnapshot() const;
  // argv prefix of a shadow-utils command pointed at the root.
  std::vector<std::string> Command(const char* program) const;

  absl::Status EnsureGroup();                                       // groupadd when missing
  absl::Status CreateAccount(int seat);                             // useradd, then the home
  absl::Status SetPassword(int seat, const std::string& password);  // chpasswd -e
  absl::Status SetLocked(int seat, bool locked);                    // usermod -L / -U
  absl::Status KillProcesses(int seat);                             // SIGTERM, SIGKILL via /proc
  absl::Status WipeHomeOf(int seat);                                // fd-relative removal
  absl::Status DeleteAccount(int seat);                             // kill, wipe, userdel -r
  absl::Status SetOccupant(int seat, int64_t registration_id);      // usermod -c MARKER
  // usermod -c MARKER -U; `done` 1 when only the marker could be written (no password).
  SeriesResult SetOccupantAndUnlock(int seat, int64_t registration_id);

  RealAccountsOptions options_;
  std::string proc_dir_;
  // shadow-utils lock the account files and fail when another holds the lock: our own
  // commands are serialized here, and Observe reads all three files under the same lock so
  // it never sees a half-applied action of ours.
  std::mutex mu_;
  // Remembers each check and the hash each set-password wrote, so the pass after a rotation
  // and every pass over converged seats hash nothing.
  PasswordCheckCache password_cache_;
};

}  // namespace wod::drivers::accounts
