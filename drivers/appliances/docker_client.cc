// HTTP over the Docker engine's unix socket with libcurl: one easy handle per request, so a
// DockerClient can be shared by the controller's worker threads without locking.
#include "drivers/appliances/docker_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace wod::drivers {

namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

DockerClient::DockerClient(std::string socket_path, std::string api_version, absl::Duration timeout)
    : socket_path_(std::move(socket_path)),
      api_version_(std::move(api_version)),
      timeout_(timeout) {
  GlobalInitOnce();
}

absl::StatusOr<HttpResponse> DockerClient::Send(std::string_view method, std::string_view path,
                                                const std::optional<std::string>& json_body,
                                                std::optional<absl::Duration> timeout) const {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::InternalError("curl_easy_init failed");
  CURL* c = curl.get();
  const std::string url = absl::StrCat("http://localhost", api_version_.empty() ? "" : "/",
                                       api_version_, std::string(path));
  const std::string method_str(method);
  HttpResponse response;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  // Without it, curl would wait a second for "100 Continue" before sending larger bodies.
  headers.reset(curl_slist_append(nullptr, "Expect:"));
  if (json_body) {
    headers.reset(curl_slist_append(headers.release(), "Content-Type: application/json"));
  }
  curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_str.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (json_body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_body->size()));
  } else if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // safe in threads; timeouts still apply
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout.value_or(timeout_))));
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("docker engine at '", socket_path_,
                                               "' unreachable: ", std::string(method), " ",
                                               std::string(path), ": ", curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

}  // namespace wod::drivers
