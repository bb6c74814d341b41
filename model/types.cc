#include "model/types.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace wod::model {

std::vector<std::string> Workshop::Locations() const {
  std::vector<std::string> out = {location};
  for (const auto& l : alternate_locations) {
    if (std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
  }
  return out;
}

std::string HubLoginUrl(std::string_view hub_url) {
  while (!hub_url.empty() && hub_url.back() == '/') hub_url.remove_suffix(1);
  return std::string(hub_url) + "/hub/login";
}

const char* LocationStateName(LocationState s) {
  switch (s) {
    case LocationState::kActive:
      return "active";
    case LocationState::kDraining:
      return "draining";
    case LocationState::kDisabled:
      return "disabled";
  }
  return "unknown";
}

std::optional<LocationState> ParseLocationState(std::string_view s) {
  if (s == "active") return LocationState::kActive;
  if (s == "draining") return LocationState::kDraining;
  if (s == "disabled") return LocationState::kDisabled;
  return std::nullopt;
}

const char* RegistrationStateName(RegistrationState s) {
  switch (s) {
    case RegistrationState::kActive:
      return "active";
    case RegistrationState::kEnded:
      return "ended";
    case RegistrationState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::optional<RegistrationState> ParseRegistrationState(std::string_view s) {
  if (s == "active") return RegistrationState::kActive;
  if (s == "ended") return RegistrationState::kEnded;
  if (s == "failed") return RegistrationState::kFailed;
  return std::nullopt;
}

const char* NotificationStateName(NotificationState s) {
  switch (s) {
    case NotificationState::kPending:
      return "pending";
    case NotificationState::kSent:
      return "sent";
    case NotificationState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::optional<NotificationState> ParseNotificationState(std::string_view s) {
  if (s == "pending") return NotificationState::kPending;
  if (s == "sent") return NotificationState::kSent;
  if (s == "failed") return NotificationState::kFailed;
  return std::nullopt;
}

const char* VerbName(Verb v) {
  switch (v) {
    case Verb::kCreate:
      return "CREATE";
    case Verb::kCleanup:
      return "CLEANUP";
    case Verb::kReset:
      return "RESET";
    case Verb::kPurge:
      return "PURGE";
  }
  return "UNKNOWN";
}

std::optional<Verb> ParseVerb(std::string_view s) {
  std::string up = absl::AsciiStrToUpper(std::string(s));
  if (up == "CREATE") return Verb::kCreate;
  if (up == "CLEANUP") return Verb::kCleanup;
  if (up == "RESET") return Verb::kReset;
  if (up == "PURGE") return Verb::kPurge;
  return std::nullopt;
}

std::optional<int> SeatOfUserName(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(prefix.size());
  if (digits.size() > 9 || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
  int seat = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    seat = seat * 10 + (c - '0');
  }
  return seat;
}

}  // namespace wod::model
