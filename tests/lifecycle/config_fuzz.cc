// Fuzz target for the YAML config readers of the long-running subcommands: the `api:` section
// (api/config.h), the `mail:` and `lifecycle:` sections (cli/daemon_common.h) and the
// controller's sections (cli/controller_config.h), each fed the same bytes. Properties:
//  - no reader crashes or lets an exception out, whatever the bytes;
//  - an error is InvalidArgument and names where it is, "PATH:N: ..." with N >= 0, in every
//    reader; it never echoes a password file's content;
//  - what a reader accepts is within its documented ranges (body limit, threads, attempts,
//    durations, retry_cap >= retry_base), so a running process never sees a value the
//    reader should have refused.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "api/config.h"
#include "cli/controller_config.h"
#include "cli/daemon_common.h"

namespace {

void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "config_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void CheckError(const absl::Status& s, std::string_view prefix, const char* reader) {
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    Fail(reader, "error is not InvalidArgument: " + s.ToString());
  }
  const std::string message(s.message());
  if (message.rfind(prefix, 0) != 0) Fail(reader, "error does not say where: " + message);
}

// One scratch file per process for the reader that takes a path.
const std::string& ScratchFile() {
  static const std::string* path = [] {
    auto* p = new std::string((std::filesystem::temp_directory_path() /
                               ("wod_config_fuzz_" + std::to_string(getpid()) + ".yml"))
                                  .string());
    std::atexit([] { std::filesystem::remove(ScratchFile()); });
    return p;
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wod;
  const std::string text(reinterpret_cast<const char*>(data), size);

  auto api = api::ParseServerConfig("fuzz/wod.yml", text);
  if (!api.ok()) {
    CheckError(api.status(), "fuzz/wod.yml:", "api");
  } else {
    if (api->max_body_bytes < 1 || api->max_body_bytes > (size_t{64} << 20)) {
      Fail("api", "max_body_bytes out of range");
    }
    if (api->threads < 1 || api->threads > 1024) Fail("api", "threads out of range");
    if (api->registration_rate_limit.burst < 1) Fail("api", "burst below 1");
    if (!api->participant_token_secret.empty()) Fail("api", "a secret read from YAML text");
  }

  auto sections = cli::ParseLifecycleSections("fuzz/wod.yml", text);
  if (!sections.ok()) {
    CheckError(sections.status(), "fuzz/wod.yml:", "mail/lifecycle");
  } else {
    const controller::LifecycleOptions& o = sections->lifecycle;
    if (o.max_attempts < 1 || o.max_attempts > 1000) Fail("lifecycle", "max_attempts");
    if (o.backoff.cap < o.backoff.base) Fail("lifecycle", "retry_cap below retry_base");
    if (o.backoff.base < absl::Seconds(1)) Fail("lifecycle", "retry_base below 1s");
    if (o.resync < absl::Milliseconds(100)) Fail("lifecycle", "resync below 100ms");
    if (o.lease_ttl < absl::Milliseconds(500)) Fail("lifecycle", "lease_ttl below 500ms");
    if (o.plan.ready_timeout < absl::Seconds(1)) Fail("lifecycle", "ready_timeout below 1s");
    if (o.plan.reminder_lead < absl::ZeroDuration()) Fail("lifecycle", "negative reminder_lead");
    for (int m : o.plan.milestones) {
      if (m < 1) Fail("lifecycle", "milestone below 1");
    }
    const cli::MailConfig& m = sections->mail;
    if (m.timeout < absl::Seconds(1)) Fail("mail", "timeout below 1s");
    if (!m.smtp_url.empty() && (m.smtp_url.rfind("smtp", 0) != 0 ||
                                m.smtp_url.find('@') != std::string::npos)) {
      Fail("mail", "smtp_url accepted with another scheme or credentials: " + m.smtp_url);
    }
  }

  {
    std::ofstream out(ScratchFile(), std::ios::binary | std::ios::trunc);
    out << text;
  }
  auto controller = cli::LoadControllerConfig(ScratchFile(), {"api", "mail", "lifecycle"});
  if (!controller.ok()) CheckError(controller.status(), ScratchFile() + ":", "controller");
  return 0;
}
