#include "model/types.h"

#include "absl/strings/ascii.h"

namespace wod::model {

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

}  // namespace wod::model
