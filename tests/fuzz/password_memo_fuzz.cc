// Fuzz target for the accounts driver's password check memo reader
// (drivers/accounts/password_check.h, PasswordCheckCache::Load): a file another process wrote,
// read by a fresh controller. Properties checked:
//  - nothing crashes or throws, whatever the bytes;
//  - a file not starting with the memo header is InvalidArgument and adds nothing;
//  - at most one entry per line after the header;
//  - nothing loaded makes Save write (a loaded memo is not a change).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "drivers/accounts/password_check.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "password_memo_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string path = "/tmp/wod_password_memo_fuzz." + std::to_string(getpid());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << input;
  wod::drivers::accounts::PasswordCheckCache cache;
  const absl::Status s = cache.Load(path);
  const bool header = input.rfind("wod-password-checks 1\n", 0) == 0;
  if (!header && !input.empty() && s.ok() && cache.size() != 0) Fail("entries without a header");
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) Fail("unexpected error code");
  size_t lines = 0;
  for (char c : input) lines += c == '\n' ? 1 : 0;
  if (cache.size() > lines + 1) Fail("more entries than lines");
  const std::string out = path + ".saved";
  if (!cache.Save(out).ok()) Fail("save failed");
  if (std::ifstream(out).good()) Fail("a loaded memo was written again without a change");
  unlink(path.c_str());
  return 0;
}
