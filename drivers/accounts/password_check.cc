#include "drivers/accounts/password_check.h"

#include "drivers/accounts/password_hash.h"

namespace wod::drivers::accounts {

bool PasswordCheckCache::Matches(const model::ObservedAccount& account, std::string_view password) {
  std::string_view hash = StripLock(account.shadow_hash);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(account.name);
    if (it != entries_.end() && it->second.shadow_hash == hash) {
      if (it->second.password == password) return it->second.matches;
      // A hash known to be of another password is not one of this password: a new occupant's
      // password is told apart from the last one's without a crypt computation.
      if (it->second.matches) return false;
    }
    ++computations_;
  }
  // Hash outside the lock: other seats' checks proceed in parallel.
  bool matches = ShadowHashMatches(hash, password);
  std::lock_guard<std::mutex> lock(mu_);
  entries_[account.name] = Entry{std::string(hash), std::string(password), matches};
  return matches;
}

void PasswordCheckCache::Remember(std::string_view user, std::string_view shadow_hash,
                                  std::string_view password) {
  Entry entry{std::string(StripLock(shadow_hash)), std::string(password), true};
  std::lock_guard<std::mutex> lock(mu_);
  entries_[std::string(user)] = std::move(entry);
}

void PasswordCheckCache::Forget(std::string_view user) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(std::string(user));
}

size_t PasswordCheckCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

int64_t PasswordCheckCache::computations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return computations_;
}

}  // namespace wod::drivers::accounts
