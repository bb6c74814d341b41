// Mail composition: header encoding (RFC 2047), quoted-printable bodies (RFC 2045) and the
// multipart/alternative structure (RFC 2046).
#include "drivers/mail/compose.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/random.h"

namespace wod::drivers {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr size_t kQpLineLimit = 76;

std::string Hex(unsigned char c) { return {'=', kHex[c >> 4], kHex[c & 15]}; }

bool IsPrintableAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 32 || c > 126) return false;
  }
  return true;
}

// Length of the UTF-8 sequence starting with `lead`, 0 if it is no lead byte.
int Utf8Length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return lead >= 0xC2 ? 2 : 0;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return lead <= 0xF4 ? 4 : 0;
  return 0;
}

// Splits `text` into chunks of at most `max_bytes` bytes that never cut a character.
std::vector<std::string_view> SplitUtf8(std::string_view text, size_t max_bytes) {
  std::vector<std::string_view> chunks;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    size_t len = Utf8Length(static_cast<unsigned char>(text[i]));
    if (len == 0) len = 1;  // callers validated UTF-8; never loop forever regardless
    if (i + len - start > max_bytes && i > start) {
      chunks.push_back(text.substr(start, i - start));
      start = i;
    }
    i += len;
  }
  if (start < text.size()) chunks.push_back(text.substr(start));
  return chunks;
}

// A display name as a quoted-string, or encoded words when it is not plain ASCII.
std::string EncodeDisplayName(std::string_view name) {
  if (IsPrintableAscii(name) && name.find("=?") == std::string_view::npos) {
    std::string out = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out + "\"";
  }
  return EncodeHeaderText("From", name);
}

// Rejects anything that could end a header line or start a new one.
absl::Status CheckHeaderText(const char* what, std::string_view text) {
  for (unsigned char c : text) {
    if (c == '\r' || c == '\n') {
      return absl::InvalidArgumentError(absl::StrCat(what, " contains a line break"));
    }
    if (c < 32 || c == 127) {
      return absl::InvalidArgumentError(absl::StrCat(what, " contains a control character"));
    }
  }
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError(absl::StrCat(what, " is not UTF-8"));
  return absl::OkStatus();
}

void AppendPart(std::string* out, const char* content_type, std::string_view body) {
  absl::StrAppend(out, "Content-Type: ", content_type, "; charset=UTF-8\r\n",
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                  EncodeQuotedPrintable(body), "\r\n");
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int len = Utf8Length(lead);
    if (len == 0 || i + len > text.size()) return false;
    for (int k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    if (len == 3) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      if (lead == 0xE0 && b1 < 0xA0) return false;   // overlong
      if (lead == 0xED && b1 >= 0xA0) return false;  // surrogate
    } else if (len == 4) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      if (lead == 0xF0 && b1 < 0x90) return false;   // overlong
      if (lead == 0xF4 && b1 >= 0x90) return false;  // beyond U+10FFFF
    }
    i += len;
  }
  return true;
}

absl::Status CheckMailAddress(std::string_view address) {
  const auto at = address.find('@');
  const bool shape_ok = !address.empty() && address.size() <= 254 && at != std::string_view::npos &&
                        at > 0 && at + 1 < address.size() &&
                        address.find('@', at + 1) == std::string_view::npos;
  bool chars_ok = true;
  for (unsigned char c : address) {
    if (c <= 32 || c >= 127 ||
        std::string_view("<>()[]\\,;:\"").find(c) != std::string_view::npos) {
      chars_ok = false;
    }
  }
  if (!shape_ok || !chars_ok) {
    // Quote only what is safe to show: a bad address may carry a line break.
    std::string shown;
    for (unsigned char c : address.substr(0, 80)) {
      shown += (c >= 32 && c < 127) ? std::string(1, c) : absl::StrCat("\\x", Hex(c).substr(1));
    }
    return absl::InvalidArgumentError(absl::StrCat("invalid mail address '", shown, "'"));
  }
  return absl::OkStatus();
}

std::string MessageIdForKey(std::string_view key, std::string_view domain) {
  return absl::StrCat("wod.", common::Sha256Hex(key).substr(0, 32), "@", std::string(domain));
}

std::string MessageIdDomain(const MailIdentity& identity) {
  if (!identity.message_id_domain.empty()) return identity.message_id_domain;
  const auto at = identity.from_address.rfind('@');
  return at == std::string::npos ? "localhost" : identity.from_address.substr(at + 1);
}

std::string EncodeQuotedPrintable(std::string_view text) {
  std::string out;
  size_t pos = 0;
  bool first_line = true;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool last = eol == text.size();

    // Tokens: one literal character or one =XX escape each, never split across lines.
    std::vector<std::string> tokens;
    for (size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool trailing_blank = (c == ' ' || c == '\t') && i + 1 == line.size();
      const bool literal =
          (c == ' ' || c == '\t' || (c >= 33 && c <= 126)) && c != '=' && !trailing_blank;
      tokens.push_back(literal ? std::string(1, static_cast<char>(c)) : Hex(c));
    }
    // Whether a physical line starting at token i would begin with "From ".
    auto starts_from = [&](size_t i) {
      static constexpr std::string_view kFrom = "From ";
      if (i + kFrom.size() > tokens.size()) return false;
      for (size_t k = 0; k < kFrom.size(); ++k) {
        if (tokens[i + k] != std::string(1, kFrom[k])) return false;
      }
      return true;
    };

    if (!first_line) out += "\r\n";
    first_line = false;
    size_t width = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string token = tokens[i];
      const bool is_last = i + 1 == tokens.size();
      // Room for the token, plus a soft-break "=" unless it ends the line.
      if (width + token.size() + (is_last ? 0 : 1) > kQpLineLimit) {
        out += "=\r\n";
        width = 0;
      }
      if (width == 0 && (token == "." || starts_from(i))) {
        token = Hex(static_cast<unsigned char>(token[0]));
      }
      out += token;
      width += token.size();
    }
    if (last) break;
    pos = eol + 1;
  }
  return out;
}

std::string EncodeHeaderText(std::string_view name, std::string_view text) {
  if (IsPrintableAscii(text) && text.find("=?") == std::string_view::npos &&
      name.size() + 2 + text.size() <= 78) {
    return std::string(text);
  }
  // 39 bytes -> 52 base64 characters -> a 64-character word: every line stays under 78.
  std::string out;
  for (std::string_view chunk : SplitUtf8(text, 39)) {
    if (!out.empty()) out += "\r\n ";
    absl::StrAppend(&out, "=?UTF-8?B?",
                    absl::Base64Escape(absl::string_view(chunk.data(), chunk.size())), "?=");
  }
  return out;
}

absl::StatusOr<std::string> ComposeMail(const model::MailMessage& m, const ComposeParams& p) {
  if (absl::Status s = CheckMailAddress(p.identity.from_address); !s.ok()) return s;
  if (absl::Status s = CheckMailAddress(m.to); !s.ok()) return s;
  if (absl::Status s = CheckHeaderText("sender name", p.identity.from_name); !s.ok()) return s;
  if (absl::Status s = CheckHeaderText("subject", m.subject); !s.ok()) return s;
  if (absl::Status s = CheckMailAddress(p.message_id); !s.ok()) {
    return absl::InvalidArgumentError("invalid Message-ID");
  }
  if (!IsValidUtf8(m.text_body) || !IsValidUtf8(m.html_body)) {
    return absl::InvalidArgumentError(absl::StrCat(m.Describe(), ": body is not UTF-8"));
  }

  std::string from = p.identity.from_address;
  if (!p.identity.from_name.empty()) {
    from = absl::StrCat(EncodeDisplayName(p.identity.from_name), " <", from, ">");
  }
  std::string out = absl::StrCat(
      "Date: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", p.date, absl::UTCTimeZone()),
      "\r\n", "From: ", from, "\r\n", "To: ", m.to, "\r\n",
      "Subject: ", EncodeHeaderText("Subject", m.subject), "\r\n", "Message-ID: <", p.message_id,
      ">\r\n",
      // RFC 3834: an automatic mail; well-behaved auto-responders do not answer it.
      "Auto-Submitted: auto-generated\r\n", "MIME-Version: 1.0\r\n");
  if (m.html_body.empty()) {
    AppendPart(&out, "text/plain", m.text_body);
    // In a multipart the CRLF before a boundary belongs to the boundary; here it would add a
    // line to the text, so the encoded text (which keeps the body's own final line break)
    // ends the message.
    out.resize(out.size() - 2);
    if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
    return out;
  }
  // "=_" never occurs in quoted-printable output ("=" is always followed by two hex digits),
  // so this boundary cannot collide with any body.
  const std::string boundary = absl::StrCat(
      "=_wod_",
      common::Sha256Hex(absl::StrCat(p.message_id, m.text_body, m.html_body)).substr(0, 24));
  absl::StrAppend(&out, "Content-Type: multipart/alternative;\r\n boundary=\"", boundary,
                  "\"\r\n\r\n");
  absl::StrAppend(&out, "--", boundary, "\r\n");
  AppendPart(&out, "text/plain", m.text_body);
  absl::StrAppend(&out, "--", boundary, "\r\n");
  AppendPart(&out, "text/html", m.html_body);
  absl::StrAppend(&out, "--", boundary, "--\r\n");
  return out;
}

}  // namespace wod::drivers
