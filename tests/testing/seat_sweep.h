// Removes every trace of a test's seats from the real machine: the containers of its location,
// its hub users, its Linux accounts (their processes are killed by the accounts driver), stray
// homes under the policy's home base and the policy's group. Tests and benches that run real
// drivers on this machine call it before they start (what a crashed earlier run left) and when
// they end, so nothing of theirs survives them. It only ever touches what the drivers call
// theirs: users named <prefix><seat> in the policy's uid range, hub users of the prefix,
// containers labelled with the location.
#pragma once

#include <grp.h>
#include <pwd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/appliances/appliances_real.h"
#include "drivers/hub/hub_real.h"

namespace wod::testing {

// The accounts policy of a test's seats on this machine: users <prefix><N> with uid
// uid_base + N, their group <prefix> with gid uid_base, homes in /home, bash.
inline model::AccountPolicy RealMachinePolicy(const std::string& prefix, uid_t uid_base,
                                              int seat_count) {
  model::AccountPolicy p;
  p.user_prefix = prefix;
  p.uid_base = uid_base;
  p.seat_count = seat_count;
  p.group = prefix;
  p.gid = uid_base;
  p.home_base = "/home";
  p.shell = "/bin/bash";
  return p;
}

struct SweepTargets {
  model::AccountPolicy policy;
  drivers::accounts::RealAccountsDriver* accounts = nullptr;  // may be null
  drivers::HubReal* hub = nullptr;                            // may be null
  drivers::DockerApplianceDriver* appliances = nullptr;       // may be null
  std::string location;                                       // of the containers
};

// Returns the first error met; goes on after one so as much as possible is removed.
inline absl::Status SweepSeats(const SweepTargets& t) {
  absl::Status first;
  auto keep = [&first](const absl::Status& s) {
    if (first.ok() && !s.ok()) first = s;
  };
  if (t.appliances != nullptr) {
    auto obs = t.appliances->Observe();
    if (obs.ok()) {
      for (const auto& c : obs->containers) {
        model::ApplianceAction a;
        a.kind = model::ApplianceAction::Kind::kRemove;
        a.location = t.location;
        a.seat = c.seat;
        a.appliance = c.appliance;
        keep(t.appliances->Apply(a));
      }
    } else {
      keep(obs.status());
    }
  }
  if (t.hub != nullptr) {
    auto obs = t.hub->Observe();
    if (obs.ok()) {
      for (const auto& u : obs->users) {
        keep(t.hub->Apply(model::HubAction::DeleteUser(u.seat, "test cleanup")));
      }
    } else {
      keep(obs.status());
    }
  }
  if (t.accounts != nullptr) {
    auto obs = t.accounts->Observe();
    if (obs.ok()) {
      for (const auto& acc : obs->accounts) {
        keep(t.accounts->Apply(model::AccountAction::Delete(acc.seat, "test cleanup")));
      }
    } else {
      keep(obs.status());
    }
  }
  // Homes left by an account deleted without its home (a crash between the two).
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(t.policy.home_base, ec)) {
    const std::string name = e.path().filename();
    if (!t.policy.SeatOfName(name)) continue;
    if (getpwnam(name.c_str()) != nullptr) continue;  // an account of someone else's: keep
    std::error_code rm;
    std::filesystem::remove_all(e.path(), rm);
  }
  if (group* gr = getgrnam(t.policy.group.c_str()); gr != nullptr && gr->gr_gid == t.policy.gid) {
    // Another process's shadow-utils command (a test beside this one) may hold the lock of
    // /etc/group for a moment: groupdel gives up at once then, so try again for a while.
    auto r = common::RunProcess({"groupdel", t.policy.group});
    for (int attempt = 0; attempt < 50 && r.ok() && r->exit_code != 0 &&
                          r->stderr_text.find("lock") != std::string::npos;
         ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = common::RunProcess({"groupdel", t.policy.group});
    }
    if (r.ok() && r->exit_code != 0) {
      keep(absl::InternalError(absl::StrCat("groupdel '", t.policy.group, "': ", r->stderr_text)));
    }
  }
  return first;
}

// The names of the users or groups of the machine that sit in the policy's uid range (or on its
// gid) under another name: a test must not start then, it would report or remove them.
inline std::vector<std::string> RangeSquatters(const model::AccountPolicy& policy) {
  std::vector<std::string> out;
  for (int seat = 0; seat < policy.seat_count; ++seat) {
    if (passwd* pw = getpwuid(policy.Uid(seat))) {
      out.push_back(absl::StrCat("uid ", policy.Uid(seat), " is ", pw->pw_name));
    }
  }
  if (group* gr = getgrgid(policy.gid); gr != nullptr && policy.group != gr->gr_name) {
    out.push_back(absl::StrCat("gid ", policy.gid, " is ", gr->gr_name));
  }
  return out;
}

}  // namespace wod::testing
