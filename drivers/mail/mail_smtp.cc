// SMTP through libcurl: one easy handle per message, the composed text streamed from memory.
#include "drivers/mail/mail_smtp.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/random.h"
#include "drivers/mail/compose.h"

namespace wod::drivers {

namespace {

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* userdata) {
  auto* up = static_cast<Upload*>(userdata);
  const size_t n = std::min(size * count, up->data->size() - up->offset);
  std::memcpy(buffer, up->data->data() + up->offset, n);
  up->offset += n;
  return n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

SmtpMailSender::SmtpMailSender(SmtpOptions options, const common::Clock* clock)
    : options_(std::move(options)), clock_(clock) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::Status SmtpMailSender::Send(const model::MailMessage& message) {
  const std::string domain = MessageIdDomain(options_.identity);
  ComposeParams params{
      .identity = options_.identity,
      .date = clock_->Now(),
      .message_id = message.key.empty() ? absl::StrCat("wod.", common::RandomToken(16), "@", domain)
                                        : MessageIdForKey(message.key, domain),
  };
  absl::StatusOr<std::string> text = ComposeMail(message, params);
  if (!text.ok()) return text.status();

  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::InternalError("curl_easy_init failed");
  CURL* c = curl.get();
  const std::string from = absl::StrCat("<", options_.identity.from_address, ">");
  std::unique_ptr<curl_slist, SlistDeleter> rcpt(
      curl_slist_append(nullptr, absl::StrCat("<", message.to, ">").c_str()));
  Upload upload{&*text};
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadUpload);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(text->size()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      c, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min<int64_t>(10000, absl::ToInt64Milliseconds(options_.timeout))));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  switch (options_.tls) {
    case SmtpOptions::Tls::kNone:
      break;
    case SmtpOptions::Tls::kStartTlsIfOffer:
      // With credentials "if offered" means required: a server (or someone in the middle who
      // strips the offer) must not get the password in clear text.
      curl_easy_setopt(
          c, CURLOPT_USE_SSL,
          static_cast<long>(options_.username.empty() ? CURLUSESSL_TRY : CURLUSESSL_ALL));
      break;
    case SmtpOptions::Tls::kRequired:
      curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
      break;
  }
  if (!options_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }

  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    WOD_LOG(kDebug, "mail", "sent {} via {}", message.Describe(), common::RedactUrl(options_.url));
    return absl::OkStatus();
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  const std::string detail = error[0] != '\0' ? error : curl_easy_strerror(rc);
  const std::string what =
      absl::StrCat(message.Describe(), " via ", common::RedactUrl(options_.url), ": ", detail);
  if (code >= 400 && code < 500) return absl::UnavailableError(what);
  if (code >= 500 && code < 600) {
    // curl names the step that failed ("RCPT failed: 550"): a refused recipient is a fault
    // of the address, anything else a refusal of the message or the sender.
    if (absl::StrContains(detail, "RCPT")) return absl::InvalidArgumentError(what);
    return absl::FailedPreconditionError(what);
  }
  switch (rc) {
    case CURLE_LOGIN_DENIED:
      return absl::PermissionDeniedError(what);
    case CURLE_USE_SSL_FAILED:  // TLS required, not offered
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_URL_MALFORMAT:  // the operator's settings, not the message, must change
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::FailedPreconditionError(what);
    default:
      return absl::UnavailableError(what);  // refused, timed out, reset, name not resolved
  }
}

}  // namespace wod::drivers
