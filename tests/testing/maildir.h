// Reading the mails a test's mail sink received: the files in a maildir's new/ (wod's maildir
// sender, or scripts/services/smtp, which stores what it receives that way). A mail is found
// by recipient and subject; its bodies are quoted-printable (drivers/mail/compose.h), so the
// text a test looks for (a password, a percentage) is searched in the decoded mail.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace wod::testing {

// Quoted-printable decoding (RFC 2045): soft line breaks ("=" at the end of a line) removed,
// "=XX" turned into its byte. Applied to the whole mail, which leaves headers as they are
// (they hold no "=XX" sequences but encoded words, which stay encoded).
inline std::string DecodeQuotedPrintable(const std::string& in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out += in[i];
      continue;
    }
    if (i + 1 < in.size() && in[i + 1] == '\n') {
      i += 1;
    } else if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      i += 2;
    } else if (i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Every mail in `maildir`/new, decoded.
inline std::vector<std::string> MaildirMails(const std::filesystem::path& maildir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(maildir / "new", ec)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    out.push_back(DecodeQuotedPrintable(s.str()));
  }
  return out;
}

// The first mail whose headers name `recipient` and contain `subject`, waiting up to
// `timeout` for it to arrive.
inline std::optional<std::string> WaitForMail(const std::filesystem::path& maildir,
                                              const std::string& recipient,
                                              const std::string& subject,
                                              std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (const std::string& m : MaildirMails(maildir)) {
      size_t headers_end = m.find("\r\n\r\n");
      if (headers_end == std::string::npos) headers_end = m.find("\n\n");
      const std::string headers = m.substr(0, headers_end);
      if (headers.find(recipient) == std::string::npos) continue;
      if (headers.find(subject) == std::string::npos) continue;
      return m;
    }
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace wod::testing
