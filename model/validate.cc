#include "model/validate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "model/strings.h"

namespace wod::model {
namespace {

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (!s->starts_with(prefix)) return false;
  s->remove_prefix(prefix.size());
  return true;
}

bool ConsumeSuffix(std::string_view* s, std::string_view suffix) {
  if (!s->ends_with(suffix)) return false;
  s->remove_suffix(suffix.size());
  return true;
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// [a-z0-9][a-z0-9-]*, at most 63 characters: usable as a DNS label, a docker name part and a
// database key without escaping.
absl::Status ValidateDnsLikeName(std::string_view what, std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(AV(what), " name is empty"));
  if (name.size() > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat(AV(what), " name '", AV(name), "' is longer than 63 characters"));
  }
  if (!IsLowerAlnum(name[0]) ||
      !std::all_of(name.begin(), name.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; })) {
    return absl::InvalidArgumentError(
        absl::StrCat(AV(what), " name '", AV(name),
                     "' must be lowercase letters, digits and '-', starting with a "
                     "letter or digit"));
  }
  return absl::OkStatus();
}

// A docker path component: [a-z0-9]+ joined by one separator: '.', '_', '__' or a run of '-'.
bool IsImagePathComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    // c[i] starts a separator; front() and back() are alnum, so it is neither first nor last.
    size_t end = i + 1;
    if (c[i] == '_' && c[end] == '_') {
      ++end;
    } else if (c[i] == '-') {
      while (c[end] == '-') ++end;
    } else if (c[i] != '.' && c[i] != '_') {
      return false;
    }
    if (!IsLowerAlnum(c[end])) return false;
    i = end;
  }
  return true;
}

bool IsRegistryHost(std::string_view host) {
  std::string_view name = host;
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), absl::ascii_isdigit)) {
      return false;
    }
    name = host.substr(0, colon);
  }
  if (name.empty()) return false;
  for (absl::string_view label : absl::StrSplit(AV(name), '.')) {
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; })) {
      return false;
    }
  }
  return true;
}

std::string Quote(std::string_view s) { return absl::StrCat("'", AV(s), "'"); }

bool ParseSeatNumber(std::string_view s, int* out) {
  s = Trim(s);
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), absl::ascii_isdigit)) {
    return false;
  }
  return absl::SimpleAtoi(AV(s), out);
}

std::string RangeText(const SeatRange& r) { return absl::StrCat("[", r.min, ",", r.max, "]"); }

}  // namespace

const char* SeverityName(Severity s) { return s == Severity::kError ? "error" : "warning"; }

absl::Status ValidateEmail(std::string_view email) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("email ", Quote(email), " ", AV(why)));
  };
  if (email.empty()) return absl::InvalidArgumentError("email is empty");
  if (email.size() > 254) return bad("is longer than 254 characters");
  size_t at = email.find('@');
  if (at == std::string_view::npos) return bad("has no '@'");
  if (email.find('@', at + 1) != std::string_view::npos) return bad("has more than one '@'");
  std::string_view local = email.substr(0, at);
  std::string_view domain = email.substr(at + 1);
  if (local.empty()) return bad("has nothing before '@'");
  if (local.size() > 64) return bad("has a local part longer than 64 characters");
  static constexpr std::string_view kLocalSpecials = "!#$%&'*+/=?^_`{|}~-.";
  for (char c : local) {
    if (!IsAlnum(c) && kLocalSpecials.find(c) == std::string_view::npos) {
      return bad("has a character not allowed before '@'");
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return bad("has a misplaced '.' before '@'");
  }
  if (domain.empty()) return bad("has no domain after '@'");
  if (domain.size() > 253) return bad("has a domain longer than 253 characters");
  std::vector<absl::string_view> labels = absl::StrSplit(AV(domain), '.');
  if (labels.size() < 2) return bad("has a domain without a '.'");
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63 || !IsAlnum(label.front()) || !IsAlnum(label.back()) ||
        !std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; })) {
      return bad("has an invalid domain");
    }
  }
  std::string_view tld = SV(labels.back());
  if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), absl::ascii_isalpha)) {
    return bad("has an invalid top-level domain");
  }
  return absl::OkStatus();
}

std::string NormalizeEmail(std::string_view email) {
  return absl::AsciiStrToLower(AV(Trim(email)));
}

absl::Status ValidateWorkshopId(std::string_view id) {
  static constexpr std::string_view kPrefix = "WKSHP-";
  if (id.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("workshop id ", Quote(id), " is longer than 64 characters"));
  }
  if (!id.starts_with(kPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("workshop id ", Quote(id), " must start with 'WKSHP-'"));
  }
  std::string_view rest = id.substr(kPrefix.size());
  if (rest.empty() || !IsAlnum(rest[0]) || !std::all_of(rest.begin(), rest.end(), [](char c) {
        return IsAlnum(c) || c == '-' || c == '_';
      })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "workshop id ", Quote(id), " must be 'WKSHP-' followed by letters, digits, '-' and '_'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLocationName(std::string_view name) {
  return ValidateDnsLikeName("location", name);
}

absl::Status ValidateFqdn(std::string_view fqdn) {
  if (fqdn.empty()) return absl::OkStatus();
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("fqdn ", Quote(fqdn), " ", AV(why)));
  };
  if (fqdn.size() > 253) return bad("is longer than 253 characters");
  const std::vector<std::string> labels = absl::StrSplit(std::string(fqdn), '.');
  for (const std::string& label : labels) {
    if (label.empty() || label.size() > 63) return bad("has an empty or too long label");
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return bad("may hold only letters, digits, '-' and '.'");
      }
    }
    if (label.front() == '-' || label.back() == '-')
      return bad("has a label starting or ending with '-'");
  }
  return absl::OkStatus();
}

absl::Status ValidateHubUrl(std::string_view url) {
  if (url.empty()) return absl::OkStatus();
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("hub URL ", Quote(url), " ", AV(why)));
  };
  if (url.size() > 2048) return bad("is longer than 2048 characters");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>') {
      return bad("holds a space, a quote, an angle bracket or a control character");
    }
  }
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad("does not start with http:// or https://");
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') return bad("names no host");
  return absl::OkStatus();
}

absl::Status ValidateApplianceName(std::string_view name) {
  return ValidateDnsLikeName("appliance", name);
}

absl::Status ValidateImageReference(std::string_view image) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("image ", Quote(image), " ", AV(why)));
  };
  if (image.empty()) return absl::InvalidArgumentError("image is empty");
  if (image.size() > 512) return bad("is longer than 512 characters");
  std::string_view rest = image;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    size_t colon = digest.find(':');
    if (colon == std::string_view::npos || colon == 0 || digest.size() - colon - 1 < 32 ||
        !std::all_of(digest.begin(), digest.begin() + colon, IsLowerAlnum) ||
        !std::all_of(digest.begin() + colon + 1, digest.end(), absl::ascii_isxdigit)) {
      return bad("has an invalid digest");
    }
  }
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (tag.empty() || tag.size() > 128 || !(IsAlnum(tag[0]) || tag[0] == '_') ||
        !std::all_of(tag.begin(), tag.end(),
                     [](char c) { return IsAlnum(c) || c == '_' || c == '.' || c == '-'; })) {
      return bad("has an invalid tag");
    }
  }
  if (rest.empty()) return bad("has no repository name");
  std::vector<std::string_view> parts;
  for (absl::string_view part : absl::StrSplit(AV(rest), '/')) parts.push_back(SV(part));
  size_t first_path = 0;
  // Docker's rule: the first component is a registry host when it has a '.' or ':' or is
  // "localhost"; otherwise it is part of the repository path.
  if (parts.size() > 1 &&
      (parts[0].find_first_of(".:") != std::string_view::npos || parts[0] == "localhost")) {
    if (!IsRegistryHost(parts[0])) return bad("has an invalid registry host");
    first_path = 1;
  }
  for (size_t i = first_path; i < parts.size(); ++i) {
    if (!IsImagePathComponent(parts[i])) {
      return bad("has an invalid repository name (lowercase letters, digits, '.', '_', '-')");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateVariableName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("variable name is empty");
  if (name.size() > 128 || !(absl::ascii_isalpha(name[0]) || name[0] == '_') ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return IsAlnum(c) || c == '_' || c == '-'; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("variable name ", Quote(name),
                     " must be letters, digits, '_' and '-', not starting with a "
                     "digit or '-'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEnvName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("environment variable name is empty");
  if (name.size() > 128 || !(absl::ascii_isalpha(name[0]) || name[0] == '_') ||
      !std::all_of(name.begin(), name.end(), [](char c) { return IsAlnum(c) || c == '_'; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable name ", Quote(name),
                     " must be letters, digits and '_', not starting with a digit"));
  }
  return absl::OkStatus();
}

bool IsReservedVariable(std::string_view name) {
  return name == "STDID" || name == "PASSSTU" || name == "WODBEEXTFQDN" || name == "HTTPPORT";
}

absl::StatusOr<SeatRange> ParseSeatRange(std::string_view text) {
  std::string_view s = Trim(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("range ", Quote(text), " is not two seat numbers like [1,6] or [151-170]"));
  };
  if (ConsumePrefix(&s, "[")) {
    if (!ConsumeSuffix(&s, "]")) return bad();
  }
  size_t sep = s.find_first_of(",-");
  if (sep == std::string_view::npos) return bad();
  SeatRange r;
  if (!ParseSeatNumber(s.substr(0, sep), &r.min) || !ParseSeatNumber(s.substr(sep + 1), &r.max)) {
    return bad();
  }
  for (int n : {r.min, r.max}) {
    if (n < kMinSeatNumber || n > kMaxSeatNumber) {
      return absl::InvalidArgumentError(
          absl::StrCat("seat number ", n, " is outside ", kMinSeatNumber, "-", kMaxSeatNumber));
    }
  }
  return r;
}

absl::StatusOr<int64_t> ParseMemory(std::string_view text) {
  std::string_view s = Trim(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("memory ", Quote(text), " is not a size like 512m or 1g"));
  };
  int shift = 0;
  if (!s.empty() && !absl::ascii_isdigit(s.back())) {
    switch (absl::ascii_tolower(s.back())) {
      case 'b':
        shift = 0;
        break;
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      case 't':
        shift = 40;
        break;
      default:
        return bad();
    }
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), absl::ascii_isdigit)) {
    return bad();
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(AV(s), &n)) return bad();
  if (n > (std::numeric_limits<int64_t>::max() >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat("memory ", Quote(text), " is too large"));
  }
  return n << shift;
}

std::string FormatMemory(int64_t bytes) {
  static constexpr struct {
    int shift;
    char unit;
  } kUnits[] = {{40, 't'}, {30, 'g'}, {20, 'm'}, {10, 'k'}};
  if (bytes > 0) {
    for (const auto& u : kUnits) {
      if (bytes % (int64_t{1} << u.shift) == 0) {
        return absl::StrCat(bytes >> u.shift, std::string(1, u.unit));
      }
    }
  }
  return absl::StrCat(bytes);
}

bool IsPlaceholder(std::string_view value) {
  std::string v = absl::AsciiStrToLower(AV(Trim(value)));
  if (v.empty()) return false;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c == '?' || c == '.'; })) return true;
  static const std::set<std::string, std::less<>> kPlaceholders = {
      "tbd", "tba", "todo", "fixme", "xxx", "n/a", "na", "none", "null", "-", "placeholder"};
  return kPlaceholders.count(v) > 0;
}

bool IsIncompleteLink(std::string_view value) {
  std::string_view v = Trim(value);
  if (!ConsumePrefix(&v, "https://") && !ConsumePrefix(&v, "http://")) return false;
  size_t slash = v.find_first_of("/?#");
  if (slash == std::string_view::npos) return true;
  std::string_view after = v.substr(slash);
  return after == "/" || after.empty();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus transposition of neighbours, so the common
  // typo "imgae" is one edit from "image".
  auto eq = [](char x, char y) { return absl::ascii_tolower(x) == absl::ascii_tolower(y); };
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = eq(a[i - 1], b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + subst});
      if (i > 1 && j > 1 && eq(a[i - 1], b[j - 2]) && eq(a[i - 2], b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  // A key is a likely typo of a candidate when at most 2 edits, and fewer than a third of its
  // letters, separate them: "alternatLocation" -> "alternateLocation", "replayID" -> "replayId",
  // but not "foo" -> "role".
  if (word.size() > 64) return std::nullopt;
  std::optional<std::string> best;
  size_t best_distance = 0;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c);
    if (d > 2 || d * 3 >= std::max(word.size(), c.size())) continue;
    if (!best || d < best_distance) {
      best = std::string(c);
      best_distance = d;
    }
  }
  return best;
}

std::vector<Problem> ValidateWorkshop(const Workshop& w) {
  std::vector<Problem> out;
  auto error = [&](std::string field, std::string message) {
    out.push_back({Severity::kError, std::move(field), std::move(message)});
  };
  auto warning = [&](std::string field, std::string message) {
    out.push_back({Severity::kWarning, std::move(field), std::move(message)});
  };

  if (absl::Status s = ValidateWorkshopId(w.id); !s.ok()) error("", std::string(s.message()));
  if (Trim(w.name).empty()) error("name", "is empty");

  bool range_ok = true;
  for (int n : {w.range.min, w.range.max}) {
    if (n < kMinSeatNumber || n > kMaxSeatNumber) {
      error("range",
            absl::StrCat("seat number ", n, " is outside ", kMinSeatNumber, "-", kMaxSeatNumber));
      range_ok = false;
      break;
    }
  }
  if (range_ok && w.range.min > w.range.max) {
    error("range", absl::StrCat("min ", w.range.min, " > max ", w.range.max));
    range_ok = false;
  }

  if (w.capacity < 0) {
    error("capacity", absl::StrCat("is negative (", w.capacity, ")"));
  } else if (w.capacity == 0) {
    warning("capacity", "0 means the workshop cannot be booked");
  } else if (range_ok && w.capacity > w.range.size()) {
    warning("capacity", absl::StrCat(w.capacity, " is larger than the ", w.range.size(),
                                     " seats of range ", RangeText(w.range), ": at most ",
                                     w.range.size(), " participants can attend at once"));
  }
  if (w.duration_hours < 0) error("duration", absl::StrCat("is negative (", w.duration_hours, ")"));
  if (w.replay_id < 0) error("replayId", absl::StrCat("is negative (", w.replay_id, ")"));

  if (w.description.empty()) warning("description", "missing; the portal shows no description");
  if (w.badge_img.empty()) warning("badgeImg", "missing; participants get no badge");
  const std::pair<const char*, const std::string*> kTexts[] = {
      {"name", &w.name},          {"description", &w.description}, {"workshopImg", &w.workshop_img},
      {"badgeImg", &w.badge_img}, {"presenter", &w.presenter},     {"role", &w.role},
      {"avatar", &w.avatar},      {"replayLink", &w.replay_link},  {"videoLink", &w.video_link},
      {"notebook", &w.notebook},
  };
  for (const auto& [field, value] : kTexts) {
    if (IsPlaceholder(*value)) {
      warning(field, absl::StrCat("placeholder value ", Quote(*value)));
    }
  }
  const std::pair<const char*, const std::string*> kLinks[] = {
      {"workshopImg", &w.workshop_img},
      {"replayLink", &w.replay_link},
      {"videoLink", &w.video_link},
  };
  for (const auto& [field, value] : kLinks) {
    if (IsIncompleteLink(*value)) {
      warning(field, absl::StrCat("link ", Quote(*value), " has nothing after the host"));
    }
  }
  for (size_t i = 0; i < w.category.size(); ++i) {
    if (Trim(w.category[i]).empty()) {
      error(absl::StrCat("category[", i, "]"), "is empty");
    }
  }

  if (absl::Status s = ValidateLocationName(w.location); !s.ok()) {
    error("location", std::string(s.message()));
  }
  std::set<std::string> alternates;
  for (size_t i = 0; i < w.alternate_locations.size(); ++i) {
    const std::string& alt = w.alternate_locations[i];
    const std::string field = w.alternate_locations.size() == 1
                                  ? "alternateLocation"
                                  : absl::StrCat("alternateLocation[", i, "]");
    if (absl::Status s = ValidateLocationName(alt); !s.ok()) {
      error(field, std::string(s.message()));
    } else if (alt == w.location) {
      warning(field, absl::StrCat("is the same as location ", Quote(w.location)));
    } else if (!alternates.insert(alt).second) {
      warning(field, absl::StrCat(Quote(alt), " is named twice"));
    }
  }

  for (const auto& [name, value] : w.variables) {
    std::string field = absl::StrCat("variables.", name);
    if (absl::Status s = ValidateVariableName(name); !s.ok()) {
      error(field, std::string(s.message()));
    } else if (IsReservedVariable(name)) {
      error(field,
            absl::StrCat(Quote(name), " is set by wod for each seat and cannot be redefined"));
    }
  }

  // Host ports of every port of every appliance: [base, base + seats - 1] must stay within
  // 1-65535 and must not meet another port's range, or two seats would bind one host port.
  struct HostRange {
    int lo, hi;
    std::string field, what;
  };
  std::vector<HostRange> host_ranges;
  std::set<std::string> appliance_names;
  for (size_t i = 0; i < w.appliances.size(); ++i) {
    const Appliance& a = w.appliances[i];
    std::string at = absl::StrCat("appliances[", i, "]");
    if (absl::Status s = ValidateApplianceName(a.name); !s.ok()) {
      error(at + ".name", std::string(s.message()));
    } else if (!appliance_names.insert(a.name).second) {
      error(at + ".name", absl::StrCat("duplicate appliance name ", Quote(a.name)));
    }
    if (absl::Status s = ValidateImageReference(a.image); !s.ok()) {
      error(at + ".image", std::string(s.message()));
    }
    std::set<int> container_ports;
    for (size_t j = 0; j < a.ports.size(); ++j) {
      const AppliancePort& p = a.ports[j];
      std::string pf = absl::StrCat(at, ".ports[", j, "]");
      bool port_ok = true;
      if (p.container < 1 || p.container > 65535) {
        error(pf + ".container", absl::StrCat("port ", p.container, " is outside 1-65535"));
        port_ok = false;
      } else if (!container_ports.insert(p.container).second) {
        error(pf + ".container", absl::StrCat("port ", p.container, " is listed twice"));
      }
      if (p.host_base < 1 || p.host_base > 65535) {
        error(pf + ".hostBase", absl::StrCat("port ", p.host_base, " is outside 1-65535"));
        port_ok = false;
      } else if (range_ok && int64_t{p.host_base} + w.range.size() - 1 > 65535) {
        error(pf + ".hostBase",
              absl::StrCat("host ports ", p.host_base, "-", p.host_base + w.range.size() - 1,
                           " for the ", w.range.size(), " seats of range ", RangeText(w.range),
                           " go past 65535"));
        port_ok = false;
      }
      if (port_ok && range_ok) {
        host_ranges.push_back({p.host_base, p.host_base + w.range.size() - 1, pf,
                               absl::StrCat("appliance ", Quote(a.name), " port ", p.container)});
      }
    }
    for (const auto& [name, value] : a.env) {
      if (absl::Status s = ValidateEnvName(name); !s.ok()) {
        error(absl::StrCat(at, ".env.", name), std::string(s.message()));
      }
    }
    if (a.memory_bytes < 0) {
      error(at + ".memory", "is negative");
    } else if (a.memory_bytes > 0 && a.memory_bytes < kMinApplianceMemory) {
      error(at + ".memory",
            absl::StrCat(FormatMemory(a.memory_bytes), " is below docker's minimum of 6m"));
    }
    if (!std::isfinite(a.cpus) || a.cpus < 0) {
      error(at + ".cpus", "must be a positive number");
    }
    if (a.privileged) {
      warning(at + ".privileged",
              "a privileged container gives each participant root on the "
              "backend");
    }
  }
  for (size_t i = 0; i < host_ranges.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const HostRange& a = host_ranges[j];
      const HostRange& b = host_ranges[i];
      if (a.lo <= b.hi && b.lo <= a.hi) {
        error(b.field, absl::StrCat("host ports ", b.lo, "-", b.hi, " of ", b.what,
                                    " collide with host ports ", a.lo, "-", a.hi, " of ", a.what));
      }
    }
  }
  return out;
}

}  // namespace wod::model
