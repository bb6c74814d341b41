#include "model/wod_order.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"

namespace wod::model {
namespace {

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// Shows an untrusted token in an error: printable ASCII only, at most 40 characters.
std::string Quote(absl::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > 40) out += "...";
  return out + "'";
}

struct Header {
  std::string name;  // lowercased
  std::string value;
};

struct Part {
  std::vector<Header> headers;
  std::string body;

  const std::string* Find(absl::string_view name) const {
    for (const Header& h : headers) {
      if (h.name == name) return &h.value;
    }
    return nullptr;
  }
};

// Lines without their terminator (LF or CRLF).
std::vector<absl::string_view> Lines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (absl::string_view& line : lines) absl::ConsumeSuffix(&line, "\r");
  return lines;
}

// Splits a message (or a MIME part) into unfolded headers and the body. `where` prefixes
// errors ("mail", "part 1").
absl::StatusOr<Part> SplitPart(absl::string_view text, absl::string_view where, bool need_blank) {
  Part part;
  size_t pos = 0;
  int line_no = 0;
  bool ended = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    absl::string_view line =
        text.substr(pos, nl == absl::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == absl::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    absl::ConsumeSuffix(&line, "\r");
    if (line.empty()) {
      ended = true;
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (part.headers.empty()) {
        return Invalid(where, absl::StrCat("line ", line_no, ": continuation before any header"));
      }
      absl::StrAppend(&part.headers.back().value, " ", absl::StripAsciiWhitespace(line));
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return Invalid(where, absl::StrCat("line ", line_no, ": not a header: ", Quote(line)));
    }
    absl::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (c <= 0x20 || c >= 0x7f) {
        return Invalid(where, absl::StrCat("line ", line_no, ": bad header name ", Quote(name)));
      }
    }
    part.headers.push_back({absl::AsciiStrToLower(name),
                            std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)))});
  }
  if (!ended && need_blank) {
    return Invalid(where, "no blank line between the headers and the body");
  }
  part.body = std::string(text.substr(pos));
  return part;
}

// A parameter of a structured header value: `multipart/alternative; boundary="x"`.
std::optional<std::string> Param(absl::string_view value, absl::string_view name) {
  for (absl::string_view piece : absl::StrSplit(value, ';')) {
    piece = absl::StripAsciiWhitespace(piece);
    const size_t eq = piece.find('=');
    if (eq == absl::string_view::npos) continue;
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(piece.substr(0, eq)), name)) continue;
    absl::string_view v = absl::StripAsciiWhitespace(piece.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

std::string MediaType(const Part& part) {
  const std::string* ct = part.Find("content-type");
  if (ct == nullptr) return "text/plain";
  absl::string_view type = *ct;
  type = type.substr(0, type.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Quoted-printable (RFC 2045 6.7); `underscore_space` for RFC 2047 Q words.
std::string DecodeQuotedPrintable(absl::string_view in, bool underscore_space) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '_' && underscore_space) {
      out += ' ';
    } else if (c == '=' && i + 1 < in.size() && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
      // soft line break
      ++i;
      if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '=' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::string> DecodeBody(const Part& part, absl::string_view where) {
  const std::string* cte = part.Find("content-transfer-encoding");
  const std::string encoding =
      cte == nullptr ? "7bit" : absl::AsciiStrToLower(absl::StripAsciiWhitespace(*cte));
  if (encoding == "7bit" || encoding == "8bit" || encoding == "binary") return part.body;
  if (encoding == "quoted-printable") return DecodeQuotedPrintable(part.body, false);
  if (encoding == "base64") {
    std::string compact;
    for (char c : part.body) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact += c;
    }
    std::string out;
    if (!absl::Base64Unescape(compact, &out)) return Invalid(where, "body is not valid base64");
    return out;
  }
  return Invalid(where, absl::StrCat("unsupported Content-Transfer-Encoding ", Quote(encoding)));
}

// RFC 2047 encoded words (=?charset?B|Q?text?=) in an unstructured header, for UTF-8 and
// US-ASCII; other charsets are left as they are. Whitespace between two encoded words goes.
std::string DecodeEncodedWords(absl::string_view value) {
  std::string out;
  size_t pos = 0;
  bool last_was_word = false;
  std::string pending_space;
  while (pos < value.size()) {
    const size_t start = value.find("=?", pos);
    if (start == absl::string_view::npos) break;
    const size_t q1 = value.find('?', start + 2);
    const size_t q2 = q1 == absl::string_view::npos ? q1 : value.find('?', q1 + 1);
    const size_t end = q2 == absl::string_view::npos ? q2 : value.find("?=", q2 + 1);
    if (end == absl::string_view::npos) break;
    const std::string charset = absl::AsciiStrToLower(value.substr(start + 2, q1 - start - 2));
    const std::string enc = absl::AsciiStrToLower(value.substr(q1 + 1, q2 - q1 - 1));
    const absl::string_view text = value.substr(q2 + 1, end - q2 - 1);
    std::string between(value.substr(pos, start - pos));
    std::optional<std::string> decoded;
    if (charset == "utf-8" || charset == "us-ascii") {
      if (enc == "b") {
        std::string d;
        if (absl::Base64Unescape(text, &d)) decoded = d;
      } else if (enc == "q") {
        decoded = DecodeQuotedPrintable(text, true);
      }
    }
    if (!decoded) {
      out += between;
      absl::StrAppend(&out, value.substr(start, end + 2 - start));
      last_was_word = false;
    } else {
      if (!(last_was_word && absl::StripAsciiWhitespace(between).empty())) out += between;
      out += *decoded;
      last_was_word = true;
    }
    pos = end + 2;
  }
  absl::StrAppend(&out, value.substr(pos));
  return out;
}

// The text/plain body of the message: the message itself, or the first text/plain part of a
// multipart one (nested multiparts are searched too, to a small depth).
absl::StatusOr<std::string> PlainText(const Part& part, absl::string_view where, int depth) {
  const std::string type = MediaType(part);
  if (type == "text/plain") return DecodeBody(part, where);
  if (!absl::StartsWith(type, "multipart/")) {
    return Invalid(where, absl::StrCat("the order must be text/plain, not ", Quote(type)));
  }
  if (depth > 3) return Invalid(where, "multipart nesting too deep");
  const std::optional<std::string> boundary = Param(*part.Find("content-type"), "boundary");
  if (!boundary || boundary->empty()) return Invalid(where, "multipart without a boundary");
  const std::string delimiter = "--" + *boundary;
  std::vector<std::string> parts;
  std::string* current = nullptr;
  for (absl::string_view line : Lines(part.body)) {
    if (absl::StartsWith(line, delimiter)) {
      if (absl::StartsWith(line.substr(delimiter.size()), "--")) break;  // close delimiter
      parts.emplace_back();
      current = &parts.back();
      continue;
    }
    if (current != nullptr) absl::StrAppend(current, line, "\n");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string name = absl::StrCat(where, " part ", i + 1);
    ASSIGN_OR_RETURN(Part sub, SplitPart(parts[i], name, false));
    const std::string sub_type = MediaType(sub);
    if (sub_type == "text/plain" || absl::StartsWith(sub_type, "multipart/")) {
      auto text = PlainText(sub, name, depth + 1);
      if (text.ok() || sub_type == "text/plain") return text;
    }
  }
  return Invalid(where, "no text/plain part");
}

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

bool IsToken(absl::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

bool IsEmail(absl::string_view s) {
  if (s.size() > 254) return false;
  const size_t at = s.find('@');
  if (at == absl::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  if (s.find('@', at + 1) != absl::string_view::npos) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == '"' || c == ',' || c == ';') {
      return false;
    }
  }
  return s.substr(at + 1).find('.') != absl::string_view::npos;
}

}  // namespace

std::string MailboxAddress(absl::string_view from_value) {
  absl::string_view v = absl::StripAsciiWhitespace(from_value);
  const size_t lt = v.rfind('<');
  if (lt != absl::string_view::npos) {
    const size_t gt = v.find('>', lt);
    if (gt == absl::string_view::npos) return "";
    v = v.substr(lt + 1, gt - lt - 1);
  } else {
    v = v.substr(0, v.find('('));
  }
  v = absl::StripAsciiWhitespace(v);
  if (!IsEmail(v)) return "";
  return absl::AsciiStrToLower(v);
}

absl::StatusOr<WodOrder> ParseWodOrderMail(absl::string_view raw) {
  if (raw.size() > kMaxOrderMailBytes) {
    return Invalid(
        "mail", absl::StrCat("too large: ", raw.size(), " bytes (limit ", kMaxOrderMailBytes, ")"));
  }
  if (absl::StripAsciiWhitespace(raw).empty()) return Invalid("mail", "empty input");
  ASSIGN_OR_RETURN(Part mail, SplitPart(raw, "mail", true));

  WodOrder order;
  for (const char* once : {"from", "subject"}) {
    const size_t n = std::count_if(mail.headers.begin(), mail.headers.end(),
                                   [&](const Header& h) { return h.name == once; });
    if (n > 1) {
      std::string name(once);
      name[0] = absl::ascii_toupper(static_cast<unsigned char>(name[0]));
      return Invalid(name, absl::StrCat("appears ", n, " times; a mail has one"));
    }
  }
  if (const std::string* from = mail.Find("from")) order.sender = MailboxAddress(*from);
  for (const Header& h : mail.headers) {
    if (h.name != "sender" && h.name != "return-path") continue;
    absl::string_view v = absl::StripAsciiWhitespace(h.value);
    order.other_senders.push_back(v == "<>" ? std::string() : MailboxAddress(v));
  }
  if (const std::string* id = mail.Find("message-id")) {
    absl::string_view v = absl::StripAsciiWhitespace(*id);
    absl::ConsumePrefix(&v, "<");
    absl::ConsumeSuffix(&v, ">");
    order.message_id = std::string(v.substr(0, 256));
  }

  const std::string* subject_header = mail.Find("subject");
  if (subject_header == nullptr) return Invalid("Subject", "missing");
  const std::string subject = DecodeEncodedWords(*subject_header);
  std::vector<absl::string_view> words =
      absl::StrSplit(subject, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (words.empty()) return Invalid("Subject", "empty (field verb)");
  const std::optional<Verb> verb = ParseVerb(std::string_view(words[0].data(), words[0].size()));
  if (!verb) {
    return Invalid("Subject", absl::StrCat("unknown verb ", Quote(words[0]),
                                           " (field verb: CREATE, CLEANUP, RESET or PURGE)"));
  }
  order.verb = *verb;
  const size_t want = *verb == Verb::kCreate ? 4 : 3;
  if (words.size() != want) {
    return Invalid("Subject", absl::StrCat(VerbName(*verb), " takes ", want - 1, " fields (",
                                           *verb == Verb::kCreate ? "stdid participant-id email"
                                                                  : "stdid participant-id",
                                           "), got ", words.size() - 1));
  }
  int seat = 0;
  if (words[1].size() > 9 || !absl::ascii_isdigit(static_cast<unsigned char>(words[1][0])) ||
      !absl::SimpleAtoi(words[1], &seat) || seat <= 0) {
    return Invalid("Subject",
                   absl::StrCat("stdid ", Quote(words[1]), " is not a seat number (field stdid)"));
  }
  order.seat = seat;
  if (!IsToken(words[2], 64)) {
    return Invalid("Subject", absl::StrCat("participant id ", Quote(words[2]),
                                           " is not a plain identifier (field participant-id)"));
  }
  order.participant_id = std::string(words[2]);
  if (*verb == Verb::kCreate) {
    if (!IsEmail(words[3])) {
      return Invalid("Subject",
                     absl::StrCat(Quote(words[3]), " is not an email address (field email)"));
    }
    order.email = absl::AsciiStrToLower(words[3]);
  }

  ASSIGN_OR_RETURN(std::string text, PlainText(mail, "body", 0));
  for (absl::string_view line : Lines(text)) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (!IsToken(line, 128)) {
      return Invalid("body", absl::StrCat("first line ", Quote(line),
                                          " is not a workshop name (field workshop)"));
    }
    order.workshop = std::string(line);
    break;
  }
  if (order.workshop.empty()) return Invalid("body", "no workshop name (field workshop)");
  return order;
}

}  // namespace wod::model
