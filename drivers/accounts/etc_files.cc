#include "drivers/accounts/etc_files.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"

namespace wod::drivers::accounts {
namespace {

// Splits `line` at ':' into at most `max` fields; returns how many it found.
template <size_t N>
size_t SplitFields(std::string_view line, std::string_view (&fields)[N]) {
  size_t n = 0;
  while (n < N) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || n == N - 1) {
      fields[n++] = line;
      break;
    }
    fields[n++] = line.substr(0, colon);
    line.remove_prefix(colon + 1);
  }
  return n;
}

template <typename Id>
bool ParseId(std::string_view text, Id* out) {
  if (text.empty()) return false;
  unsigned long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return false;
  if (value > 0xFFFFFFFEul) return false;  // (uid_t)-1 is "no id"
  *out = static_cast<Id>(value);
  return true;
}

// Calls `fn` on each line that could be an entry (not empty, not a comment, not NIS "+"/"-").
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
    fn(line);
  }
}

}  // namespace

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> entries;
  entries.reserve(std::count(text.begin(), text.end(), '\n') + 1);
  ForEachLine(text, [&](std::string_view line) {
    std::string_view f[7];
    if (SplitFields(line, f) != 7 || f[0].empty()) return;
    PasswdEntry e;
    e.name = f[0];
    if (!ParseId(f[2], &e.uid) || !ParseId(f[3], &e.gid)) return;
    e.gecos = f[4];
    e.home = f[5];
    e.shell = f[6];
    entries.push_back(e);
  });
  return entries;
}

std::unordered_map<std::string_view, std::string_view> ParseShadow(std::string_view text) {
  std::unordered_map<std::string_view, std::string_view> hashes;
  hashes.reserve(std::count(text.begin(), text.end(), '\n') + 1);
  ForEachLine(text, [&](std::string_view line) {
    std::string_view f[3];
    if (SplitFields(line, f) < 2 || f[0].empty()) return;
    hashes.emplace(f[0], f[1]);  // the first entry of a name is the one login uses
  });
  return hashes;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> entries;
  ForEachLine(text, [&](std::string_view line) {
    std::string_view f[4];
    if (SplitFields(line, f) < 3 || f[0].empty()) return;
    GroupEntry e;
    e.name = f[0];
    if (!ParseId(f[2], &e.gid)) return;
    entries.push_back(e);
  });
  return entries;
}

AccountIndex::AccountIndex(const model::AccountPolicy& policy, const AccountTables& tables)
    : policy_(policy), tables_(tables) {
  group_ = GroupNamed(policy_.group);
  by_name_.reserve(tables_.passwd.size());
  for (const PasswdEntry& e : tables_.passwd) {
    by_name_.emplace(e.name, &e);
    if (policy_.InUidRange(e.uid)) by_uid_[e.uid].push_back(&e);
  }
}

const GroupEntry* AccountIndex::GroupNamed(std::string_view name) const {
  for (const GroupEntry& g : tables_.group) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

const GroupEntry* AccountIndex::GroupWithGid(gid_t gid) const {
  for (const GroupEntry& g : tables_.group) {
    if (g.gid == gid) return &g;
  }
  return nullptr;
}

std::string AccountIndex::ForeignReason(const PasswdEntry& entry) const {
  std::optional<int> seat = policy_.SeatOfName(entry.name);
  if (!seat) {
    return absl::StrCat("name is not '", policy_.user_prefix, "<seat>' but uid ", entry.uid,
                        " is in the managed range");
  }
  if (entry.uid != policy_.Uid(*seat)) {
    return absl::StrCat("uid ", entry.uid, " is not seat ", *seat, "'s uid ", policy_.Uid(*seat));
  }
  if (group_ == nullptr) return absl::StrCat("group '", policy_.group, "' does not exist");
  if (entry.gid != group_->gid) {
    return absl::StrCat("primary gid ", entry.gid, " is not group '", policy_.group, "' (",
                        group_->gid, ")");
  }
  auto same_uid = by_uid_.find(entry.uid);
  if (same_uid != by_uid_.end() && same_uid->second.size() > 1) {
    return absl::StrCat("uid ", entry.uid, " is shared with another user");
  }
  auto first = by_name_.find(entry.name);
  if (first != by_name_.end() && first->second != &entry) return "duplicate passwd entry";
  return "";
}

SeatLookup AccountIndex::Lookup(int seat) const {
  SeatLookup lookup;
  std::string name = policy_.UserName(seat);
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    std::string reason = ForeignReason(*it->second);
    if (reason.empty()) {
      lookup.state = SeatState::kOurs;
      lookup.entry = it->second;
    } else {
      lookup.state = SeatState::kForeign;
      lookup.reason = absl::StrCat("user '", name, "' is not managed by wod: ", reason);
    }
    return lookup;
  }
  auto by_uid = by_uid_.find(policy_.Uid(seat));
  if (by_uid != by_uid_.end() && !by_uid->second.empty()) {
    lookup.state = SeatState::kForeign;
    lookup.reason = absl::StrCat("uid ", policy_.Uid(seat), " of seat ", seat, " belongs to user '",
                                 std::string(by_uid->second.front()->name), "'");
  }
  return lookup;
}

model::ObservedAccounts AccountIndex::Observe(
    const std::unordered_map<uid_t, std::vector<pid_t>>& pids_by_uid) const {
  model::ObservedAccounts observed;
  observed.group_exists = group_ != nullptr;
  observed.group_gid = group_gid();
  for (const PasswdEntry& e : tables_.passwd) {
    bool in_range = policy_.InUidRange(e.uid);
    if (!in_range && !policy_.SeatOfName(e.name)) continue;
    std::string reason = ForeignReason(e);
    if (!reason.empty()) {
      observed.foreign.push_back(
          model::ForeignAccount{std::string(e.name), e.uid, e.gid, std::move(reason)});
      continue;
    }
    model::ObservedAccount& a = observed.accounts.emplace_back();
    a.name = std::string(e.name);
    a.seat = static_cast<int>(e.uid - policy_.uid_base);
    a.uid = e.uid;
    a.gid = e.gid;
    a.home = std::string(e.home);
    a.shell = std::string(e.shell);
    auto hash = tables_.shadow.find(e.name);
    if (hash != tables_.shadow.end()) a.shadow_hash = std::string(hash->second);
    a.locked = !a.shadow_hash.empty() && a.shadow_hash.front() == '!';
    a.occupant = model::OccupantOfComment(e.gecos);
    auto pids = pids_by_uid.find(e.uid);
    if (pids != pids_by_uid.end()) a.pids = pids->second;
  }
  std::sort(observed.accounts.begin(), observed.accounts.end(),
            [](const auto& a, const auto& b) { return a.seat < b.seat; });
  std::sort(observed.foreign.begin(), observed.foreign.end(), [](const auto& a, const auto& b) {
    return std::tie(a.uid, a.name) < std::tie(b.uid, b.name);
  });
  return observed;
}

}  // namespace wod::drivers::accounts
