#include "drivers/hub/hub_real.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"

namespace wod::drivers {
namespace {

using hub_internal::HubUserRecord;
using model::HubServerState;

constexpr size_t kMaxBodyBytes = 64 << 20;
constexpr char kPaginationMediaType[] = "application/jupyterhub-pagination+json";

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t n = size * count;
  if (body->size() + n > kMaxBodyBytes) return 0;  // makes curl fail with CURLE_WRITE_ERROR
  body->append(data, n);
  return n;
}

bool Success(long code) { return code >= 200 && code < 300; }

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<HubReal>> HubReal::Create(HubRealOptions options) {
  std::string base = options.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  size_t scheme_end = base.find("://");
  std::string_view scheme =
      scheme_end == std::string::npos ? "" : std::string_view(base).substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("hub url '", common::RedactUrl(options.url), "' is not http(s)://host"));
  }
  std::string_view rest = std::string_view(base).substr(scheme_end + 3);
  if (rest.empty() || rest.front() == '/' || rest.find_first_of("?#@ \t\r\n") != rest.npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hub url '", common::RedactUrl(options.url),
        "' must be http(s)://host[:port][/base] without credentials, query or fragment"));
  }
  const std::string& prefix = options.policy.user_prefix;
  if (prefix.empty() || !absl::ascii_islower(prefix.front()) ||
      prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != prefix.npos) {
    // Names go into URL paths unescaped, and the hub lowercases names: keep them plain.
    return absl::InvalidArgumentError(
        absl::StrCat("hub user prefix '", prefix, "' must be [a-z][a-z0-9_-]*"));
  }
  if (options.page_size < 1) {
    return absl::InvalidArgumentError("hub page size must be at least 1");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("hub timeouts must be positive");
  }
  auto content = common::ReadFile(options.token_file);
  if (!content.ok()) {
    return absl::Status(content.status().code(),
                        absl::StrCat("hub token file: ", content.status().message()));
  }
  std::string token(absl::StripAsciiWhitespace(*content));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hub token file '", options.token_file, "' is empty"));
  }
  for (char c : token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || absl::ascii_iscntrl(c)) {
      return absl::InvalidArgumentError(absl::StrCat("hub token file '", options.token_file,
                                                     "' must hold one token on one line"));
    }
  }
  return std::unique_ptr<HubReal>(
      new HubReal(std::move(options), std::move(base), std::move(token)));
}

HubReal::HubReal(HubRealOptions options, std::string base, std::string token)
    : options_(std::move(options)), base_(std::move(base)), token_(std::move(token)) {}

absl::StatusOr<HubReal::Response> HubReal::Send(const char* method, const std::string& path,
                                                bool accept_pagination) const {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  std::unique_ptr<CURL, CurlDeleter> h(curl_easy_init());
  if (!h) return absl::UnavailableError("hub: cannot initialise libcurl");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* l = curl_slist_append(headers.get(), line.c_str());
    if (l != nullptr) {
      headers.release();
      headers.reset(l);
    }
    return l != nullptr;
  };
  if (!add_header(absl::StrCat("Authorization: token ", token_)) ||
      !add_header(absl::StrCat("Accept: ",
                               accept_pagination ? kPaginationMediaType : "application/json"))) {
    return absl::UnavailableError("hub: out of memory building a request");
  }

  Response response;
  char error[CURL_ERROR_SIZE] = {0};
  std::string url = base_ + path;
  CURL* c = h.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // a proxy from the environment never sees the token
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.request_timeout)));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  std::string_view m(method);
  if (m == "POST") {
    // No body: the hub then applies no user or spawn options.
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  } else if (m != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string detail = error[0] != '\0' ? error : curl_easy_strerror(rc);
    if (rc == CURLE_WRITE_ERROR) detail = "response larger than 64 MiB";
    std::string message = absl::StrCat("hub at '", common::RedactUrl(base_), "' did not answer ",
                                       method, " ", path, ": ", detail);
    WOD_LOG(kDebug, "hub", "{}", message);
    switch (rc) {
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE:
        return absl::FailedPreconditionError(message);
      default:
        return absl::UnavailableError(message);
    }
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.code);
  WOD_LOG(kDebug, "hub", "{} {} -> {}", method, path, response.code);
  return response;
}

absl::Status HubReal::ErrorFor(const std::string& what, const Response& response) const {
  std::string hub_message = hub_internal::HubErrorMessage(response.body);
  // The hub has no reason to echo the token, but an error must never carry it.
  if (!token_.empty()) hub_message = absl::StrReplaceAll(hub_message, {{token_, "***"}});
  std::string message = absl::StrCat(what, ": hub answered ", response.code);
  if (!hub_message.empty()) absl::StrAppend(&message, ": ", hub_message);
  long code = response.code;
  if (code == 400) return absl::InvalidArgumentError(message);
  if (code == 401 || code == 403) {
    return absl::PermissionDeniedError(
        absl::StrCat(message, " (check the service token and its role's scopes)"));
  }
  if (code == 404) return absl::NotFoundError(message);
  if (code == 409) return absl::AbortedError(message);
  if (code == 429 || code >= 500) return absl::UnavailableError(message);
  // Redirects (a login page), 405 and the like: the URL does not point at the hub's API.
  return absl::FailedPreconditionError(message);
}

absl::StatusOr<std::optional<HubUserRecord>> HubReal::GetUser(const std::string& name) const {
  ASSIGN_OR_RETURN(Response r, Send("GET", "/hub/api/users/" + name));
  if (r.code == 404) return std::optional<HubUserRecord>();
  if (r.code != 200) return ErrorFor(absl::StrCat("read hub user '", name, "'"), r);
  ASSIGN_OR_RETURN(HubUserRecord record, hub_internal::ParseUser(r.body));
  return std::optional<HubUserRecord>(std::move(record));
}

absl::StatusOr<model::ObservedHub> HubReal::Observe() {
  auto fetch = [this](int offset, int limit) -> absl::StatusOr<hub_internal::UsersPage> {
    ASSIGN_OR_RETURN(Response r,
                     Send("GET", absl::StrCat("/hub/api/users?offset=", offset, "&limit=", limit),
                          /*accept_pagination=*/true));
    if (r.code == 404) {
      return absl::FailedPreconditionError(absl::StrCat("no hub api at '", common::RedactUrl(base_),
                                                        "/hub/api/users': check the hub url"));
    }
    if (r.code != 200) return ErrorFor("list hub users", r);
    return hub_internal::ParseUsersPage(r.body);
  };
  return hub_internal::CollectUsers(options_.policy, options_.page_size, fetch);
}

absl::Status HubReal::CreateUser(const std::string& name) const {
  std::string what = absl::StrCat("create hub user '", name, "'");
  ASSIGN_OR_RETURN(Response r, Send("POST", "/hub/api/users/" + name));
  if (Success(r.code) || r.code == 409) return absl::OkStatus();
  if (r.code == 400) {
    // With PAM the hub refuses users that have no Linux account (LocalAuthenticator.add_user).
    absl::Status s = ErrorFor(what, r);
    return absl::FailedPreconditionError(
        absl::StrCat(s.message(), " (does its linux account exist?)"));
  }
  return ErrorFor(what, r);
}

absl::Status HubReal::DeleteUser(const std::string& name) const {
  std::string what = absl::StrCat("delete hub user '", name, "'");
  ASSIGN_OR_RETURN(Response r, Send("DELETE", "/hub/api/users/" + name));
  if (Success(r.code) || r.code == 404) return absl::OkStatus();
  // The only 400 the hub gives here: the user's server is still stopping.
  if (r.code == 400) return absl::UnavailableError(ErrorFor(what, r).message());
  return ErrorFor(what, r);
}

absl::Status HubReal::StartServer(const std::string& name) const {
  std::string what = absl::StrCat("start server of hub user '", name, "'");
  ASSIGN_OR_RETURN(Response r, Send("POST", "/hub/api/users/" + name + "/server"));
  if (Success(r.code)) return absl::OkStatus();  // 201 running, 202 pending
  if (r.code == 404) {
    return absl::NotFoundError(absl::StrCat(what, ": hub user '", name, "' not found"));
  }
  if (r.code != 400) return ErrorFor(what, r);  // 500: the spawn failed
  // 400: "already running" or "pending stop"; ask the hub which one.
  ASSIGN_OR_RETURN(std::optional<HubUserRecord> user, GetUser(name));
  if (!user) return absl::NotFoundError(absl::StrCat(what, ": hub user '", name, "' not found"));
  switch (user->server) {
    case HubServerState::kRunning:
    case HubServerState::kPendingStart:
      return absl::OkStatus();
    case HubServerState::kPendingStop:
      return absl::UnavailableError(absl::StrCat(what, ": the server is still stopping"));
    case HubServerState::kNone:
      break;
  }
  return ErrorFor(what, r);
}

absl::Status HubReal::StopServer(const std::string& name) const {
  std::string what = absl::StrCat("stop server of hub user '", name, "'");
  ASSIGN_OR_RETURN(Response r, Send("DELETE", "/hub/api/users/" + name + "/server"));
  if (Success(r.code)) return absl::OkStatus();  // 204 stopped (or was), 202 pending
  if (r.code == 401 || r.code == 403 || r.code == 429) return ErrorFor(what, r);
  // 400 "pending spawn"; for a missing user hub 3.0 answers 500. Ask the hub what is there.
  ASSIGN_OR_RETURN(std::optional<HubUserRecord> user, GetUser(name));
  if (!user) return absl::OkStatus();
  switch (user->server) {
    case HubServerState::kNone:
    case HubServerState::kPendingStop:
      return absl::OkStatus();
    case HubServerState::kPendingStart:
      return absl::UnavailableError(
          absl::StrCat(what, ": the server is still starting; stop it once it is up"));
    case HubServerState::kRunning:
      break;
  }
  return ErrorFor(what, r);
}

absl::Status HubReal::Apply(const model::HubAction& action) {
  if (action.seat < 0) {
    return absl::InvalidArgumentError(absl::StrCat("hub action for invalid seat ", action.seat));
  }
  const std::string name = options_.policy.UserName(action.seat);
  if (!options_.policy.SeatOfName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("seat ", action.seat, " has no hub user name"));
  }
  switch (action.kind) {
    case model::HubAction::Kind::kCreateUser:
      return CreateUser(name);
    case model::HubAction::Kind::kDeleteUser:
      return DeleteUser(name);
    case model::HubAction::Kind::kStartServer:
      return StartServer(name);
    case model::HubAction::Kind::kStopServer:
      return StopServer(name);
  }
  return absl::InvalidArgumentError("unknown hub action");
}

}  // namespace wod::drivers
