#include "drivers/accounts/accounts_real.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/subprocess.h"
#include "drivers/accounts/etc_files.h"
#include "drivers/accounts/home.h"
#include "drivers/accounts/password_hash.h"

namespace wod::drivers::accounts {
namespace {

// Exit codes of shadow-utils 4.13 that mean something to us (see useradd(8), userdel(8)).
constexpr int kExitUidInUse = 4;     // useradd: uid not unique; groupadd: gid not unique
constexpr int kExitNoSuchGroup = 6;  // useradd: group missing
constexpr int kExitNoSuchUser = 6;   // usermod, userdel: user missing
constexpr int kExitUserBusy = 8;     // userdel: the user is logged in / has processes
constexpr int kExitNameInUse = 9;    // useradd, groupadd: name exists

// The first line of a command's stderr, with `secret` cut out, for an error message.
std::string StderrSummary(const common::SubprocessResult& result, std::string_view secret) {
  std::string text(absl::StripAsciiWhitespace(result.stderr_text));
  if (!secret.empty()) {
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "***");
    }
  }
  size_t nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  return text;
}

// Another tool (an admin's vipw or useradd, a package's postinst, another wod) holds the
// account files: shadow-utils says so and gives up at once.
bool FilesLocked(const common::SubprocessResult& result) {
  return result.exit_code != 0 && (absl::StrContains(result.stderr_text, "cannot lock") ||
                                   absl::StrContains(result.stderr_text, "already used by PID") ||
                                   absl::StrContains(result.stderr_text, "try again later"));
}

// Runs a shadow-utils command, trying again for about 2 s while the account files are locked
// by another process; its short lock is no reason to fail a seat's action. Only when the tool
// gave up at once (on the real root, "lock ... already used by PID"): one that waited for the
// lock itself (useradd under --prefix waits ~14 s) has waited enough.
absl::StatusOr<common::SubprocessResult> RunShadowTool(const std::vector<std::string>& argv,
                                                       const common::SubprocessOptions& run) {
  auto delay = std::chrono::milliseconds(5);
  for (int attempt = 0;; ++attempt) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<common::SubprocessResult> result = common::RunProcess(argv, run);
    const bool gave_up_at_once = std::chrono::steady_clock::now() - start < std::chrono::seconds(1);
    if (!result.ok() || !FilesLocked(*result) || !gave_up_at_once || attempt == 9) return result;
    WOD_LOG(kDebug, "accounts", "'{}': account files locked by another process; again in {} ms",
            argv[0], delay.count());
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(500));
  }
}

absl::Status CommandFailure(const std::vector<std::string>& argv,
                            const common::SubprocessResult& result, std::string_view secret = {}) {
  std::string summary = StderrSummary(result, secret);
  if (result.signal != 0) {
    return absl::UnavailableError(
        absl::StrCat("'", argv[0], "' was killed by signal ", result.signal, ": ", summary));
  }
  std::string message =
      absl::StrCat("'", argv[0], "' exited with ", result.exit_code, ": ", summary);
  // Another tool (an admin's vipw, a package's postinst) holds the files: try again later.
  if (FilesLocked(result)) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// Runs a usermod argv for user `name`: NotFound when the user vanished, the command's
// failure otherwise.
absl::Status RunUsermod(const std::vector<std::string>& argv, const std::string& name,
                        absl::Duration timeout) {
  WOD_LOG(kDebug, "accounts", "run {}", absl::StrJoin(argv, " "));
  common::SubprocessOptions run;
  run.timeout = timeout;
  ASSIGN_OR_RETURN(common::SubprocessResult result, RunShadowTool(argv, run));
  if (result.exit_code == kExitNoSuchUser) {
    return absl::NotFoundError(absl::StrCat("user '", name, "' not found"));
  }
  if (result.exit_code != 0) return CommandFailure(argv, result);
  return absl::OkStatus();
}

absl::Status NoPasswordToUnlock(std::string_view name) {
  // usermod -U would refuse (exit 0, nothing done): unlocking needs a password first.
  return absl::FailedPreconditionError(
      absl::StrCat("user '", std::string(name), "' has no password to unlock"));
}

}  // namespace

struct RealAccountsDriver::Snapshot {
  std::string passwd_text;
  std::string shadow_text;
  std::string group_text;
  AccountTables tables;  // views into the texts above: a Snapshot never moves
};

absl::StatusOr<std::unique_ptr<RealAccountsDriver>> RealAccountsDriver::Create(
    RealAccountsOptions options) {
  if (options.root.empty() || options.root.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat("root '", options.root, "' is not absolute"));
  }
  const model::AccountPolicy& p = options.policy;
  if (p.user_prefix.empty() || p.group.empty() || p.seat_count <= 0 || p.uid_base == 0 ||
      p.home_base.empty() || p.home_base.front() != '/') {
    return absl::InvalidArgumentError(
        "account policy needs a user prefix, a group, seats, "
        "a non-zero uid base and an absolute home base");
  }
  return std::unique_ptr<RealAccountsDriver>(new RealAccountsDriver(std::move(options)));
}

RealAccountsDriver::RealAccountsDriver(RealAccountsOptions options) : options_(std::move(options)) {
  while (options_.root.size() > 1 && options_.root.back() == '/') options_.root.pop_back();
  proc_dir_ = options_.proc_dir.value_or(options_.root == "/" ? "/proc" : "");
  if (!options_.password_memo.empty()) {
    // A memo that cannot be read costs a hash per seat, once: no reason not to start.
    if (auto s = password_cache_.Load(options_.password_memo); !s.ok()) {
      WOD_LOG(kWarning, "accounts", "password check memo not used: {}", std::string(s.message()));
    }
  }
}

RealAccountsDriver::~RealAccountsDriver() { SaveMemo(); }

void RealAccountsDriver::SaveMemo() {
  if (options_.password_memo.empty() || options_.read_only_memo) return;
  if (auto s = password_cache_.Save(options_.password_memo); !s.ok()) {
    WOD_LOG(kWarning, "accounts", "saving the password check memo: {}", std::string(s.message()));
  }
}

std::vector<std::string> RealAccountsDriver::Command(const char* program) const {
  std::vector<std::string> argv = {program};
  if (options_.root != "/") {
    argv.push_back("--prefix");
    argv.push_back(options_.root);
  }
  return argv;
}

absl::StatusOr<std::unique_ptr<RealAccountsDriver::Snapshot>> RealAccountsDriver::ReadSnapshot()
    const {
  auto snap = std::make_unique<Snapshot>();
  std::string etc = options_.root == "/" ? "/etc" : options_.root + "/etc";
  auto read = [&](const char* name, std::string* out) -> absl::Status {
    absl::StatusOr<std::string> text = common::ReadFile(absl::StrCat(etc, "/", name));
    if (!text.ok()) {
      if (absl::IsNotFound(text.status())) return absl::UnavailableError(text.status().message());
      return text.status();
    }
    *out = *std::move(text);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(read("passwd", &snap->passwd_text));
  RETURN_IF_ERROR(read("shadow", &snap->shadow_text));
  RETURN_IF_ERROR(read("group", &snap->group_text));
  snap->tables.passwd = ParsePasswd(snap->passwd_text);
  snap->tables.shadow = ParseShadow(snap->shadow_text);
  snap->tables.group = ParseGroup(snap->group_text);
  return snap;
}

absl::StatusOr<model::ObservedAccounts> RealAccountsDriver::Observe(
    const model::DesiredPasswords& desired_passwords) {
  std::unique_ptr<Snapshot> snap;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(snap, ReadSnapshot());
  }
  std::unordered_map<uid_t, std::vector<pid_t>> pids;
  if (!proc_dir_.empty()) {
    const model::AccountPolicy& p = options_.policy;
    ASSIGN_OR_RETURN(pids, ScanProcesses(proc_dir_, p.uid_base,
                                         p.uid_base + static_cast<uid_t>(p.seat_count) - 1));
  }
  AccountIndex index(options_.policy, snap->tables);
  model::ObservedAccounts observed = index.Observe(pids);
  // Outside mu_: a check that has to hash (a fresh process, a shadow file changed behind our
  // back) must not hold up the seats' commands.
  for (model::ObservedAccount& account : observed.accounts) {
    auto desired = desired_passwords.find(account.seat);
    if (desired == desired_passwords.end() || desired->second.empty()) continue;
    account.password_in_sync = password_cache_.Matches(account, desired->second);
  }
  SaveMemo();  // when this or the last pass learnt something: the next process hashes nothing
  return observed;
}

absl::Status RealAccountsDriver::Apply(const model::AccountAction& action) {
  const model::AccountPolicy& p = options_.policy;
  if (!p.ValidSeat(action.seat)) {
    return absl::InvalidArgumentError(
        absl::StrCat("seat ", action.seat, " is outside 0..", p.seat_count - 1));
  }
  using Kind = model::AccountAction::Kind;
  switch (action.kind) {
    case Kind::kCreate:
      return CreateAccount(action.seat);
    case Kind::kSetPassword:
      return SetPassword(action.seat, action.password);
    case Kind::kLock:
      return SetLocked(action.seat, true);
    case Kind::kUnlock:
      return SetLocked(action.seat, false);
    case Kind::kKillProcesses:
      return KillProcesses(action.seat);
    case Kind::kWipeHome:
      return WipeHomeOf(action.seat);
    case Kind::kDelete:
      return DeleteAccount(action.seat);
    case Kind::kSetOccupant:
      return SetOccupant(action.seat, action.registration_id);
  }
  return absl::InvalidArgumentError("unknown account action");
}

namespace {

// The seat's account when it is ours; NotFound / FailedPrecondition otherwise.
absl::StatusOr<const PasswdEntry*> RequireOurs(const model::AccountPolicy& policy,
                                               const AccountIndex& index, int seat) {
  SeatLookup lookup = index.Lookup(seat);
  switch (lookup.state) {
    case SeatState::kAbsent:
      return absl::NotFoundError(absl::StrCat("user '", policy.UserName(seat), "' not found"));
    case SeatState::kForeign:
      return absl::FailedPreconditionError(lookup.reason);
    case SeatState::kOurs:
      break;
  }
  if (lookup.entry->home != policy.Home(seat)) {
    // userdel -r or a wipe would act on a directory that is not the seat's home.
    return absl::FailedPreconditionError(
        absl::StrCat("home of user '", std::string(lookup.entry->name), "' is '",
                     std::string(lookup.entry->home), "', not '", policy.Home(seat), "'"));
  }
  return lookup.entry;
}

}  // namespace

absl::Status RealAccountsDriver::EnsureGroup() {
  const model::AccountPolicy& p = options_.policy;
  ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
  AccountIndex index(p, snap->tables);
  if (index.group_exists()) return absl::OkStatus();
  if (const GroupEntry* other = index.GroupWithGid(p.gid)) {
    return absl::FailedPreconditionError(absl::StrCat("gid ", p.gid, " for group '", p.group,
                                                      "' is taken by group '",
                                                      std::string(other->name), "'"));
  }
  // groupadd [--prefix ROOT] -g GID GROUP
  std::vector<std::string> argv = Command("groupadd");
  argv.insert(argv.end(), {"-g", std::to_string(p.gid), p.group});
  WOD_LOG(kDebug, "accounts", "run {}", absl::StrJoin(argv, " "));
  common::SubprocessOptions run;
  run.timeout = options_.command_timeout;
  ASSIGN_OR_RETURN(common::SubprocessResult result, RunShadowTool(argv, run));
  if (result.exit_code == 0 || result.exit_code == kExitNameInUse) return absl::OkStatus();
  if (result.exit_code == kExitUidInUse) {
    return absl::FailedPreconditionError(
        absl::StrCat("gid ", p.gid, " for group '", p.group, "' is already in use"));
  }
  return CommandFailure(argv, result);
}

absl::Status RealAccountsDriver::CreateAccount(int seat) {
  const model::AccountPolicy& p = options_.policy;
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(EnsureGroup());
  ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
  AccountIndex index(p, snap->tables);
  SeatLookup lookup = index.Lookup(seat);
  if (lookup.state == SeatState::kForeign) return absl::FailedPreconditionError(lookup.reason);
  if (lookup.state == SeatState::kAbsent) {
    // The home first: once the account exists nothing plans a create again, so a crash
    // between useradd and the home would leave an account without a home for good.
    RETURN_IF_ERROR(EnsureHome(options_.root, p.Home(seat), p.Uid(seat), p.gid));
    // useradd [--prefix ROOT] -u UID -g GROUP -c "wod seat N vacant" -d HOME -M -s SHELL -K
    //   ... NAME
    // -M: the home is made by EnsureHome above, empty like a wiped one (no /etc/skel), so a
    // fresh seat and a recycled seat look the same. No subordinate uid ranges: students do
    // not run user namespaces, and 2,000 ranges of 65,536 would clutter /etc/subuid.
    std::vector<std::string> argv = Command("useradd");
    argv.insert(argv.end(),
                {"-u", std::to_string(p.Uid(seat)), "-g", p.group, "-c",
                 model::OccupantComment(seat, 0), "-d", p.Home(seat), "-M", "-s", p.shell, "-K",
                 "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", p.UserName(seat)});
    WOD_LOG(kDebug, "accounts", "run {}", absl::StrJoin(argv, " "));
    common::SubprocessOptions run;
    run.timeout = options_.command_timeout;
    ASSIGN_OR_RETURN(common::SubprocessResult result, RunShadowTool(argv, run));
    if (result.exit_code == kExitUidInUse) {
      return absl::FailedPreconditionError(
          absl::StrCat("uid ", p.Uid(seat), " of seat ", seat, " is already in use"));
    }
    if (result.exit_code == kExitNoSuchGroup) {
      return absl::AbortedError(absl::StrCat("group '", p.group, "' vanished during create"));
    }
    if (result.exit_code != 0 && result.exit_code != kExitNameInUse) {
      return CommandFailure(argv, result);
    }
    // Re-read: on "already exists" the user that exists must be ours to count as created.
    ASSIGN_OR_RETURN(snap, ReadSnapshot());
  }
  AccountIndex after(p, snap->tables);
  ASSIGN_OR_RETURN(const PasswdEntry* entry, RequireOurs(p, after, seat));
  return EnsureHome(options_.root, std::string(entry->home), entry->uid, entry->gid);
}

absl::Status RealAccountsDriver::SetPassword(int seat, const std::string& password) {
  const model::AccountPolicy& p = options_.policy;
  if (password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("empty password for seat ", seat));
  }
  // The seat's current shadow field; the account must be ours.
  auto read_current = [&]() -> absl::StatusOr<std::pair<std::string, std::string>> {
    ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
    AccountIndex index(p, snap->tables);
    ASSIGN_OR_RETURN(const PasswdEntry* entry, RequireOurs(p, index, seat));
    auto it = snap->tables.shadow.find(entry->name);
    return std::make_pair(std::string(entry->name), it == snap->tables.shadow.end()
                                                        ? std::string()
                                                        : std::string(it->second));
  };
  std::pair<std::string, std::string> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(current, read_current());
  }
  // Hashing takes ~30 ms per call: done outside the lock so other seats' commands go on.
  {
    model::ObservedAccount account;
    account.name = current.first;
    account.shadow_hash = current.second;
    // Converged already (the planner asked anyway, or this is the second apply): keep the
    // hash, do not rewrite the shadow file.
    if (password_cache_.Matches(account, password)) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.hash_cost));

  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(current, read_current());  // it may have been locked meanwhile
  const std::string& name = current.first;
  bool locked = !current.second.empty() && current.second.front() == '!';
  // The lock is a '!' in front of the hash: keep it, so setting a password and unlocking
  // stay separate decisions (a vacant seat gets a fresh password and stays locked).
  std::string field = locked ? "!" + hash : hash;
  // chpasswd -e [--root ROOT], "user:hash" on stdin
  std::vector<std::string> argv = {"chpasswd", "-e"};
  if (options_.root != "/") argv.insert(argv.end(), {"--root", options_.root});
  WOD_LOG(kDebug, "accounts", "run {} for user '{}'", absl::StrJoin(argv, " "), name);
  common::SubprocessOptions run;
  run.timeout = options_.command_timeout;
  run.stdin_text = absl::StrCat(name, ":", field, "\n");
  absl::StatusOr<common::SubprocessResult> result = RunShadowTool(argv, run);
  explicit_bzero(run.stdin_text.data(), run.stdin_text.size());
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) return CommandFailure(argv, *result, hash);
  password_cache_.Remember(name, field, password);
  return absl::OkStatus();
}

absl::Status RealAccountsDriver::SetLocked(int seat, bool locked) {
  const model::AccountPolicy& p = options_.policy;
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
  AccountIndex index(p, snap->tables);
  ASSIGN_OR_RETURN(const PasswdEntry* entry, RequireOurs(p, index, seat));
  auto current = snap->tables.shadow.find(entry->name);
  std::string_view hash =
      current == snap->tables.shadow.end() ? std::string_view() : current->second;
  bool is_locked = !hash.empty() && hash.front() == '!';
  if (is_locked == locked) return absl::OkStatus();
  if (!locked && hash.find_first_not_of('!') == std::string_view::npos) {
    return NoPasswordToUnlock(entry->name);
  }
  // usermod [--prefix ROOT] -L|-U NAME
  std::vector<std::string> argv = Command("usermod");
  argv.insert(argv.end(), {locked ? "-L" : "-U", std::string(entry->name)});
  return RunUsermod(argv, std::string(entry->name), options_.command_timeout);
}

absl::Status RealAccountsDriver::SetOccupant(int seat, int64_t registration_id) {
  const model::AccountPolicy& p = options_.policy;
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
  AccountIndex index(p, snap->tables);
  ASSIGN_OR_RETURN(const PasswdEntry* entry, RequireOurs(p, index, seat));
  const std::string marker = model::OccupantComment(seat, registration_id);
  if (entry->gecos == marker) return absl::OkStatus();
  // usermod [--prefix ROOT] -c MARKER NAME
  std::vector<std::string> argv = Command("usermod");
  argv.insert(argv.end(), {"-c", marker, std::string(entry->name)});
  return RunUsermod(argv, std::string(entry->name), options_.command_timeout);
}

RealAccountsDriver::SeriesResult RealAccountsDriver::ApplySeries(
    absl::Span<const model::AccountAction> actions, const OnDone& on_done) {
  using Kind = model::AccountAction::Kind;
  SeriesResult result;
  for (size_t i = 0; i < actions.size();) {
    const model::AccountAction& a = actions[i];
    if (a.kind == Kind::kSetOccupant && i + 1 < actions.size() &&
        actions[i + 1].kind == Kind::kUnlock && actions[i + 1].seat == a.seat &&
        options_.policy.ValidSeat(a.seat)) {
      SeriesResult pair = SetOccupantAndUnlock(a.seat, a.registration_id);
      for (size_t k = 0; k < pair.done; ++k) on_done(result.done++);
      if (!pair.error.ok()) {
        result.error = pair.error;
        return result;
      }
      i += 2;
      continue;
    }
    result.error = Apply(a);
    if (!result.error.ok()) return result;
    on_done(result.done++);
    ++i;
  }
  return result;
}

RealAccountsDriver::SeriesResult RealAccountsDriver::SetOccupantAndUnlock(int seat,
                                                                          int64_t registration_id) {
  const model::AccountPolicy& p = options_.policy;
  SeriesResult result;
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::unique_ptr<Snapshot>> snap = ReadSnapshot();
  if (!snap.ok()) {
    result.error = snap.status();
    return result;
  }
  AccountIndex index(p, (*snap)->tables);
  absl::StatusOr<const PasswdEntry*> entry = RequireOurs(p, index, seat);
  if (!entry.ok()) {
    result.error = entry.status();
    return result;
  }
  const std::string name((*entry)->name);
  const std::string marker = model::OccupantComment(seat, registration_id);
  auto current = (*snap)->tables.shadow.find((*entry)->name);
  std::string_view hash =
      current == (*snap)->tables.shadow.end() ? std::string_view() : current->second;
  const bool locked = !hash.empty() && hash.front() == '!';
  const bool has_password = hash.find_first_not_of('!') != std::string_view::npos;
  // usermod [--prefix ROOT] [-c MARKER] [-U] NAME: one rewrite of passwd and shadow.
  std::vector<std::string> argv = Command("usermod");
  const size_t bare = argv.size();
  if ((*entry)->gecos != marker) argv.insert(argv.end(), {"-c", marker});
  if (locked && has_password) argv.push_back("-U");
  if (argv.size() > bare) {
    argv.push_back(name);
    result.error = RunUsermod(argv, name, options_.command_timeout);
    if (!result.error.ok()) return result;
  }
  result.done = 1;
  if (locked && !has_password) {
    result.error = NoPasswordToUnlock(name);
    return result;
  }
  result.done = 2;
  return result;
}

absl::Status RealAccountsDriver::KillProcesses(int seat) {
  const model::AccountPolicy& p = options_.policy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
    AccountIndex index(p, snap->tables);
    SeatLookup lookup = index.Lookup(seat);
    // The uid may outlive its account (processes left after a delete): still ours to kill,
    // unless someone else now holds it.
    if (lookup.state == SeatState::kForeign) return absl::FailedPreconditionError(lookup.reason);
  }
  if (proc_dir_.empty()) return absl::OkStatus();
  return KillProcessesOf(proc_dir_, p.Uid(seat), options_.kill);
}

absl::Status RealAccountsDriver::WipeHomeOf(int seat) {
  const model::AccountPolicy& p = options_.policy;
  std::string home;
  uid_t uid = 0;
  gid_t gid = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
    AccountIndex index(p, snap->tables);
    ASSIGN_OR_RETURN(const PasswdEntry* entry, RequireOurs(p, index, seat));
    home = std::string(entry->home);
    uid = entry->uid;
    gid = entry->gid;
  }
  if (!proc_dir_.empty()) {
    // A running process would write into the home while it is being emptied.
    ASSIGN_OR_RETURN(auto pids, ScanProcesses(proc_dir_, uid, uid));
    if (!pids.empty()) {
      return absl::AbortedError(absl::StrCat("user '", p.UserName(seat), "' still runs ",
                                             pids.begin()->second.size(),
                                             " processes: kill them before wiping"));
    }
  }
  RETURN_IF_ERROR(EnsureHome(options_.root, home, uid, gid));
  return WipeHome(options_.root, home);
}

absl::Status RealAccountsDriver::DeleteAccount(int seat) {
  const model::AccountPolicy& p = options_.policy;
  std::string home;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
    AccountIndex index(p, snap->tables);
    SeatLookup lookup = index.Lookup(seat);
    if (lookup.state == SeatState::kAbsent) return absl::OkStatus();
    ASSIGN_OR_RETURN(const PasswdEntry* entry, RequireOurs(p, index, seat));
    home = std::string(entry->home);
  }
  // userdel refuses a user with processes (exit 8).
  if (!proc_dir_.empty()) RETURN_IF_ERROR(KillProcessesOf(proc_dir_, p.Uid(seat), options_.kill));
  // Empty the home our way first: userdel -r then only removes an empty directory, and no
  // symlink a student planted is ever followed.
  if (HomeExists(options_.root, home)) RETURN_IF_ERROR(WipeHome(options_.root, home));

  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::unique_ptr<Snapshot> snap, ReadSnapshot());
  AccountIndex index(p, snap->tables);
  SeatLookup lookup = index.Lookup(seat);
  if (lookup.state == SeatState::kAbsent) return absl::OkStatus();
  ASSIGN_OR_RETURN(const PasswdEntry* entry, RequireOurs(p, index, seat));
  // userdel [--prefix ROOT] -r NAME
  std::vector<std::string> argv = Command("userdel");
  argv.insert(argv.end(), {"-r", std::string(entry->name)});
  WOD_LOG(kDebug, "accounts", "run {}", absl::StrJoin(argv, " "));
  common::SubprocessOptions run;
  run.timeout = options_.command_timeout;
  ASSIGN_OR_RETURN(common::SubprocessResult result, RunShadowTool(argv, run));
  if (result.exit_code == kExitUserBusy) {
    return absl::AbortedError(
        absl::StrCat("user '", std::string(entry->name), "' got new processes during delete"));
  }
  if (result.exit_code != 0 && result.exit_code != kExitNoSuchUser) {
    return CommandFailure(argv, result);
  }
  password_cache_.Forget(entry->name);
  return absl::OkStatus();
}

}  // namespace wod::drivers::accounts
