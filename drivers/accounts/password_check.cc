#include "drivers/accounts/password_check.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/hmac.h"
#include "common/status.h"
#include "drivers/accounts/password_hash.h"

namespace wod::drivers::accounts {
namespace {

constexpr char kMemoHeader[] = "wod-password-checks 1";

std::string PasswordDigest(std::string_view shadow_hash, std::string_view password) {
  return common::HmacSha256Hex(shadow_hash, password);
}

// A user name or shadow hash that can go on a memo line as it is.
bool Plain(std::string_view s) {
  return !s.empty() && s.find_first_of("\t\n\r") == std::string_view::npos;
}

// The parts of `text` between `sep`s, empty ones left out only for lines ('\n').
std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start || sep != '\n') out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Atomic but not fsynced: the memo is written after passes, where an fsync would cost a busy
// disk's latency, and a memo lost in a crash costs one hash per seat, once.
absl::Status WriteUnsynced(const std::string& path, std::string_view text) {
  ASSIGN_OR_RETURN(common::AtomicFile file, common::AtomicFile::Create(path, 0600));
  while (!text.empty()) {
    ssize_t n = write(file.fd(), text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(absl::StrCat("writing ", path, ": ", std::strerror(errno)));
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return file.Commit(/*sync=*/false);
}

}  // namespace

bool PasswordCheckCache::Matches(const model::ObservedAccount& account, std::string_view password) {
  std::string_view hash = StripLock(account.shadow_hash);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(account.name);
    if (it != entries_.end() && it->second.shadow_hash == hash) {
      Entry& e = it->second;
      if (e.password.empty() && !e.digest.empty() && PasswordDigest(hash, password) == e.digest) {
        e.password = std::string(password);  // confirmed: compared as a string from now on
      }
      if (e.password == password) return e.matches;
      // A hash known to be of another password is not one of this password: a new occupant's
      // password is told apart from the last one's without a crypt computation.
      if (e.matches) return false;
    }
    ++computations_;
  }
  // Hash outside the lock: other seats' checks proceed in parallel.
  bool matches = ShadowHashMatches(hash, password);
  std::lock_guard<std::mutex> lock(mu_);
  entries_[account.name] = Entry{std::string(hash), std::string(password), "", matches};
  dirty_ = true;
  return matches;
}

void PasswordCheckCache::Remember(std::string_view user, std::string_view shadow_hash,
                                  std::string_view password) {
  Entry entry{std::string(StripLock(shadow_hash)), std::string(password), "", true};
  std::lock_guard<std::mutex> lock(mu_);
  entries_[std::string(user)] = std::move(entry);
  dirty_ = true;
}

void PasswordCheckCache::Forget(std::string_view user) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.erase(std::string(user)) > 0) dirty_ = true;
}

size_t PasswordCheckCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

int64_t PasswordCheckCache::computations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return computations_;
}

absl::Status PasswordCheckCache::Load(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (absl::IsNotFound(text.status())) return absl::OkStatus();
  if (!text.ok()) return text.status();
  std::vector<std::string_view> lines = Split(*text, '\n');
  if (lines.empty() || lines[0] != kMemoHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":1: not a password check memo (expected '", kMemoHeader, "')"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string_view> f = Split(lines[i], '\t');
    if (f.size() != 4 || f[0].empty() || f[1].empty() || f[2].size() != 64 ||
        (f[3] != "0" && f[3] != "1")) {
      continue;
    }
    entries_.try_emplace(std::string(f[0]),
                         Entry{std::string(f[1]), "", std::string(f[2]), f[3] == "1"});
  }
  return absl::OkStatus();
}

absl::Status PasswordCheckCache::Save(const std::string& path) {
  std::string text = absl::StrCat(kMemoHeader, "\n");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirty_) return absl::OkStatus();
    text.reserve(entries_.size() * 180);
    for (const auto& [user, e] : entries_) {
      if (!Plain(user) || !Plain(e.shadow_hash)) continue;
      const std::string digest =
          e.password.empty() ? e.digest : PasswordDigest(e.shadow_hash, e.password);
      if (digest.empty()) continue;
      absl::StrAppend(&text, user, "\t", e.shadow_hash, "\t", digest, "\t", e.matches ? "1" : "0",
                      "\n");
    }
    dirty_ = false;
  }
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot make ", dir.string(),
                                              " for the password check memo: ", ec.message()));
    }
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  absl::Status s = WriteUnsynced(path, text);
  explicit_bzero(text.data(), text.size());
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;  // try again next time
  }
  return s;
}

}  // namespace wod::drivers::accounts
