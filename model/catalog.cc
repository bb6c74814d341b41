#include "model/catalog.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fmt/format.h"
#include "model/strings.h"

namespace wod::model {
namespace {

std::string Quote(std::string_view s) { return absl::StrCat("'", AV(s), "'"); }

std::string RangeText(const SeatRange& r) { return absl::StrCat("[", r.min, ",", r.max, "]"); }

// Returns the offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n + 1;
  }
  return std::string_view::npos;
}

int LineAt(std::string_view text, size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
}

int LineOfNode(const YAML::Node& n, int fallback) {
  YAML::Mark m = n.Mark();
  return m.is_null() ? fallback : m.line + 1;
}

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Scalar:
      return Quote(n.Scalar());
  }
  return "something else";
}

bool ParseBoolText(std::string_view s, bool* out) {
  // YAML 1.1 spellings, which WoD's files (%YAML 1.1) may use.
  static constexpr std::string_view kTrue[] = {"true", "yes", "on", "y"};
  static constexpr std::string_view kFalse[] = {"false", "no", "off", "n"};
  std::string v = absl::AsciiStrToLower(AV(Trim(s)));
  for (std::string_view t : kTrue) {
    if (v == t) return *out = true;
  }
  for (std::string_view f : kFalse) {
    if (v == f) {
      *out = false;
      return true;
    }
  }
  return false;
}

bool ParseIntText(std::string_view s, int* out) {
  s = Trim(s);
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 10 ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) {
    return false;
  }
  return absl::SimpleAtoi(AV(s), out);  // false on int overflow
}

const std::vector<std::string_view>& TopLevelKeys() {
  // clang-format off
  static const std::vector<std::string_view> kKeys = {
      // WoD's keys, in the order of its files, then keys only older files have.
      "name", "description", "active", "capacity", "priority", "range", "reset", "ldap",
      "replayId", "varpass", "compile", "workshopImg", "badgeImg", "beta", "category", "duration",
      "presenter", "role", "avatar", "replayLink",
      "monoappliance", "multiappliance", "videoLink", "notebook", "location", "alternateLocation",
      // wod's own.
      "appliances", "variables"};
  // clang-format on
  return kKeys;
}

const std::vector<std::string_view>& ApplianceKeys() {
  static const std::vector<std::string_view> kKeys = {"name", "image",  "command", "ports",
                                                      "env",  "memory", "cpus",    "privileged"};
  return kKeys;
}

const std::vector<std::string_view>& PortKeys() {
  static const std::vector<std::string_view> kKeys = {"container", "hostBase"};
  return kKeys;
}

// Records where each YAML document starts and ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Reads one wod.yml into a Workshop, recording findings and where each field was written.
// Values it cannot read are left at their defaults and their field is marked bad, so the
// semantic checks that follow do not report the same field twice.
class WorkshopParser {
 public:
  WorkshopParser(std::string_view file, std::vector<Finding>* findings)
      : file_(file), findings_(findings) {}

  // False when the text is not a YAML mapping at all (nothing usable was read).
  bool Parse(std::string_view text, std::string_view id, const std::string& default_location) {
    workshop_.id = std::string(id);
    if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
      Error(LineAt(text, bad), "", "is not valid UTF-8");
      return false;
    }
    if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
      Error(LineAt(text, nul), "", "contains a NUL byte");
      return false;
    }
    try {
      std::string str(text);
      // Not YAML::LoadAll: on a stray ',' where a document should start, yaml-cpp 0.7 keeps
      // producing empty documents without moving on, and LoadAll collects them until memory
      // runs out. Counting document starts, with a cap, finds that and a second document.
      std::istringstream in(str);
      YAML::Parser yaml_parser(in);
      DocumentStarts starts;
      while (starts.marks.size() < 3 && yaml_parser.HandleNextDocument(starts)) {
        size_t n = starts.marks.size();
        if (n >= 2 && starts.marks[n - 1].pos == starts.marks[n - 2].pos) {
          const YAML::Mark& m = starts.marks[n - 1];
          size_t pos = static_cast<size_t>(m.pos);
          unsigned char c = pos < str.size() ? static_cast<unsigned char>(str[pos]) : 0;
          Error(m.line + 1, "",
                c > 0x20 && c < 0x7F
                    ? absl::StrCat("yaml: unexpected '", std::string(1, static_cast<char>(c)),
                                   "' where a document should start")
                    : "yaml: no document can start here");
          return false;
        }
      }
      if (starts.marks.size() > 1) {
        Error(starts.marks[1].line + 1, "",
              "holds more than one YAML document: a wod.yml describes one workshop");
      }
      YAML::Node root = YAML::Load(str);
      if (root.IsNull()) {
        Error(0, "", "is empty: expected a mapping of workshop fields");
        return false;
      }
      if (!root.IsMap()) {
        Error(LineOfNode(root, 0), "",
              absl::StrCat("expected a mapping of workshop fields, got ", Describe(root)));
        return false;
      }
      ParseTopLevel(root);
    } catch (const YAML::Exception& e) {
      Error(e.mark.is_null() ? 0 : e.mark.line + 1, "", absl::StrCat("yaml: ", e.msg));
      return false;
    } catch (const std::exception& e) {
      Error(0, "", absl::StrCat("yaml: ", e.what()));
      return false;
    }
    if (workshop_.location.empty()) workshop_.location = default_location;
    for (const Problem& p : ValidateWorkshop(workshop_)) {
      if (IsUnderBadField(p.field)) continue;
      Add(p.severity, lines_.LineOf(p.field), p.field, p.message);
    }
    return true;
  }

  Workshop& workshop() { return workshop_; }
  FieldLines& lines() { return lines_; }
  int errors() const { return errors_; }

 private:
  void Add(Severity severity, int line, std::string field, std::string message) {
    if (severity == Severity::kError) ++errors_;
    findings_->push_back(
        {severity, std::string(file_), line, std::move(field), std::move(message)});
  }
  void Error(int line, std::string field, std::string message) {
    if (!field.empty()) bad_fields_.insert(field);
    Add(Severity::kError, line, std::move(field), std::move(message));
  }

  bool IsUnderBadField(std::string_view field) const {
    for (const std::string& bad : bad_fields_) {
      if (field == bad) return true;
      if (field.starts_with(bad) && (field[bad.size()] == '.' || field[bad.size()] == '[')) {
        return true;
      }
    }
    return false;
  }

  // Calls `fn(key, value, line)` for each entry of `map`; reports non-scalar keys, duplicate
  // keys and keys not in `known` (with a did-you-mean), and skips them.
  void ForEachKey(const YAML::Node& map, const std::string& prefix,
                  const std::vector<std::string_view>& known,
                  const std::function<void(const std::string&, const YAML::Node&, int)>& fn) {
    std::map<std::string, int> seen;
    for (const auto& kv : map) {
      int line = LineOfNode(kv.first, LineOfNode(map, 0));
      if (!kv.first.IsScalar()) {
        Error(line, prefix, absl::StrCat("keys must be plain names, got ", Describe(kv.first)));
        continue;
      }
      const std::string& key = kv.first.Scalar();
      if (!IsText(key, prefix, line)) continue;
      std::string field = absl::StrCat(prefix, prefix.empty() ? "" : ".", key);
      auto [it, inserted] = seen.emplace(key, line);
      if (!inserted) {
        Error(line, field, absl::StrCat("duplicate key (first at line ", it->second, ")"));
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string message = absl::StrCat("unknown key ", Quote(key));
        if (std::optional<std::string> near = ClosestMatch(key, known)) {
          absl::StrAppend(&message, "; did you mean ", Quote(*near), "?");
        }
        Add(Severity::kError, line, field, std::move(message));
        continue;
      }
      lines_.lines[field] = line;
      fn(key, kv.second, line);
    }
  }

  // Scalar readers: std::nullopt when the value is absent (null) or wrong (then reported).
  std::optional<std::string> String(const YAML::Node& v, const std::string& field, int line) {
    if (v.IsNull()) return std::nullopt;
    if (!v.IsScalar()) {
      Error(line, field, absl::StrCat("expected text, got ", Describe(v)));
      return std::nullopt;
    }
    if (!IsText(v.Scalar(), field, LineOfNode(v, line))) return std::nullopt;
    return v.Scalar();
  }
  // The file is valid UTF-8, but yaml-cpp 0.7 decodes the escapes \N and \_ to the lone bytes
  // 0x85 and 0xA0, which are not.
  bool IsText(const std::string& s, const std::string& field, int line) {
    if (FindInvalidUtf8(s) == std::string_view::npos) return true;
    Error(line, field,
          "is not valid UTF-8 (yaml-cpp turns the escapes \\N and \\_ into single bytes; write "
          "\\u0085 or \\u00A0)");
    return false;
  }
  std::optional<bool> Bool(const YAML::Node& v, const std::string& field, int line) {
    if (v.IsNull()) return std::nullopt;
    bool b = false;
    if (!v.IsScalar() || !ParseBoolText(v.Scalar(), &b)) {
      Error(line, field, absl::StrCat("expected true or false, got ", Describe(v)));
      return std::nullopt;
    }
    return b;
  }
  std::optional<int> Int(const YAML::Node& v, const std::string& field, int line) {
    if (v.IsNull()) return std::nullopt;
    int n = 0;
    if (!v.IsScalar() || !ParseIntText(v.Scalar(), &n)) {
      Error(line, field, absl::StrCat("expected a whole number, got ", Describe(v)));
      return std::nullopt;
    }
    return n;
  }
  std::optional<double> Number(const YAML::Node& v, const std::string& field, int line) {
    if (v.IsNull()) return std::nullopt;
    double d = 0;
    std::string_view s = v.IsScalar() ? Trim(v.Scalar()) : "";
    bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return absl::ascii_isdigit(c) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E';
    });
    if (!plain || !absl::SimpleAtod(AV(s), &d) || !std::isfinite(d)) {
      Error(line, field, absl::StrCat("expected a number, got ", Describe(v)));
      return std::nullopt;
    }
    return d;
  }
  // A mapping of names to text (env, variables). Values may be any scalar; null is "".
  std::map<std::string, std::string> StringMap(const YAML::Node& v, const std::string& field,
                                               int line) {
    std::map<std::string, std::string> out;
    if (v.IsNull()) return out;
    if (!v.IsMap()) {
      Error(line, field, absl::StrCat("expected a mapping of names to values, got ", Describe(v)));
      return out;
    }
    std::map<std::string, int> seen;
    for (const auto& kv : v) {
      int key_line = LineOfNode(kv.first, line);
      if (!kv.first.IsScalar()) {
        Error(key_line, field, absl::StrCat("names must be plain text, got ", Describe(kv.first)));
        continue;
      }
      const std::string& name = kv.first.Scalar();
      if (!IsText(name, field, key_line)) continue;
      std::string sub = absl::StrCat(field, ".", name);
      auto [it, inserted] = seen.emplace(name, key_line);
      if (!inserted) {
        Error(key_line, sub, absl::StrCat("duplicate name (first at line ", it->second, ")"));
        continue;
      }
      lines_.lines[sub] = key_line;
      if (kv.second.IsNull()) {
        out[name] = "";
      } else if (std::optional<std::string> s = String(kv.second, sub, key_line)) {
        out[name] = *s;
      }
    }
    return out;
  }

  void ParseRange(const YAML::Node& v, int line) {
    std::string text;
    if (v.IsScalar()) {
      if (!IsText(v.Scalar(), "range", line)) return;
      text = v.Scalar();
    } else if (v.IsSequence() && (v.size() == 1 || v.size() == 2)) {
      // [1,6] is a two-element list; yaml-cpp reads [151-170] as a list holding "151-170".
      std::vector<std::string> items;
      for (const auto& item : v) {
        if (!item.IsScalar()) {
          Error(line, "range",
                absl::StrCat("expected seat numbers like [1,6] or [151-170], got ", Describe(item),
                             " inside the list"));
          return;
        }
        if (!IsText(item.Scalar(), "range", line)) return;
        items.push_back(item.Scalar());
      }
      text = absl::StrCat("[", absl::StrJoin(items, ","), "]");
    } else {
      Error(line, "range",
            absl::StrCat("expected seat numbers like [1,6] or [151-170], got ", Describe(v)));
      return;
    }
    absl::StatusOr<SeatRange> r = ParseSeatRange(text);
    if (!r.ok()) {
      Error(line, "range", std::string(r.status().message()));
      return;
    }
    workshop_.range = *r;
  }

  // WoD's files write `alternateLocation: ['fqdn']`; a single name is accepted too.
  void ParseAlternateLocations(const YAML::Node& v, int line) {
    auto& out = workshop_.alternate_locations;
    if (v.IsNull()) return;
    if (v.IsScalar()) {
      if (!IsText(v.Scalar(), "alternateLocation", line)) return;
      if (!v.Scalar().empty()) out = {v.Scalar()};
      return;
    }
    if (!v.IsSequence()) {
      Error(line, "alternateLocation",
            absl::StrCat("expected a location name or a list of them, got ", Describe(v)));
      return;
    }
    for (const auto& item : v) {
      const int item_line = LineOfNode(item, line);
      if (!item.IsScalar()) {
        Error(item_line, "alternateLocation",
              absl::StrCat("expected a list of location names, got ", Describe(item),
                           " inside the list"));
        out.clear();
        return;
      }
      if (!IsText(item.Scalar(), "alternateLocation", item_line)) {
        out.clear();
        return;
      }
      out.push_back(item.Scalar());
    }
  }

  void ParseCategory(const YAML::Node& v, int line) {
    if (v.IsNull()) return;
    if (v.IsScalar()) {  // older files: `category: 'Open Source'`
      if (!IsText(v.Scalar(), "category", line)) return;
      workshop_.category = {v.Scalar()};
      return;
    }
    if (!v.IsSequence()) {
      Error(line, "category", absl::StrCat("expected a list of names, got ", Describe(v)));
      return;
    }
    for (const auto& item : v) {
      if (!item.IsScalar()) {
        Error(LineOfNode(item, line), "category",
              absl::StrCat("expected a list of names, got ", Describe(item), " inside the list"));
        workshop_.category.clear();
        return;
      }
      if (!IsText(item.Scalar(), "category", LineOfNode(item, line))) {
        workshop_.category.clear();
        return;
      }
      workshop_.category.push_back(item.Scalar());
    }
  }

  void ParsePort(const YAML::Node& v, const std::string& field, int line, AppliancePort* port) {
    if (!v.IsMap()) {
      Error(line, field,
            absl::StrCat("expected a mapping like {container: 80, hostBase: 20000}, got ",
                         Describe(v)));
      return;
    }
    std::set<std::string> present;
    ForEachKey(v, field, PortKeys(), [&](const std::string& key, const YAML::Node& value, int l) {
      std::string sub = absl::StrCat(field, ".", key);
      present.insert(key);
      std::optional<int> n = Int(value, sub, l);
      if (!n) {
        if (value.IsNull()) Error(l, sub, "is empty");
        return;
      }
      (key == "container" ? port->container : port->host_base) = *n;
    });
    for (std::string_view key : PortKeys()) {
      if (!present.count(std::string(key))) {
        Error(line, absl::StrCat(field, ".", AV(key)), "is required but missing");
      }
    }
  }

  void ParseAppliance(const YAML::Node& v, const std::string& field, int line, Appliance* a) {
    if (!v.IsMap()) {
      Error(line, field, absl::StrCat("expected a mapping with name and image, got ", Describe(v)));
      return;
    }
    std::set<std::string> present;
    ForEachKey(
        v, field, ApplianceKeys(), [&](const std::string& key, const YAML::Node& value, int l) {
          std::string sub = absl::StrCat(field, ".", key);
          if (!value.IsNull()) present.insert(key);
          if (key == "name") {
            if (auto s = String(value, sub, l)) a->name = *s;
          } else if (key == "image") {
            if (auto s = String(value, sub, l)) a->image = *s;
          } else if (key == "command") {
            if (value.IsNull()) return;
            if (!value.IsSequence()) {
              // Never split a string into arguments: that would need a shell's quoting rules.
              Error(l, sub,
                    absl::StrCat("expected a list of arguments like [\"httpd\", \"-f\"], got ",
                                 Describe(value)));
              return;
            }
            for (const auto& arg : value) {
              if (!arg.IsScalar()) {
                Error(LineOfNode(arg, l), sub,
                      absl::StrCat("expected text arguments, got ", Describe(arg)));
                a->command.clear();
                return;
              }
              if (!IsText(arg.Scalar(), sub, LineOfNode(arg, l))) {
                a->command.clear();
                return;
              }
              a->command.push_back(arg.Scalar());
            }
          } else if (key == "ports") {
            if (value.IsNull()) return;
            if (!value.IsSequence()) {
              Error(l, sub, absl::StrCat("expected a list of ports, got ", Describe(value)));
              return;
            }
            for (const auto& item : value) {
              std::string pf = absl::StrCat(sub, "[", a->ports.size(), "]");
              int pl = LineOfNode(item, l);
              lines_.lines[pf] = pl;
              ParsePort(item, pf, pl, &a->ports.emplace_back());
            }
          } else if (key == "env") {
            a->env = StringMap(value, sub, l);
          } else if (key == "memory") {
            if (value.IsNull()) return;
            if (!value.IsScalar()) {
              Error(l, sub, absl::StrCat("expected a size like 512m or 1g, got ", Describe(value)));
              return;
            }
            absl::StatusOr<int64_t> m = ParseMemory(value.Scalar());
            if (!m.ok()) {
              Error(l, sub, std::string(m.status().message()));
              return;
            }
            a->memory_bytes = *m;
          } else if (key == "cpus") {
            if (auto d = Number(value, sub, l)) a->cpus = *d;
          } else if (key == "privileged") {
            if (auto b = Bool(value, sub, l)) a->privileged = *b;
          }
        });
    for (std::string_view key : {"name", "image"}) {
      if (!present.count(std::string(key))) {
        Error(line, absl::StrCat(field, ".", AV(key)), "is required but missing");
      }
    }
  }

  void ParseAppliances(const YAML::Node& v, int line) {
    if (v.IsNull()) return;
    if (!v.IsSequence()) {
      Error(line, "appliances", absl::StrCat("expected a list of appliances, got ", Describe(v)));
      return;
    }
    for (const auto& item : v) {
      std::string field = absl::StrCat("appliances[", workshop_.appliances.size(), "]");
      int item_line = LineOfNode(item, line);
      lines_.lines[field] = item_line;
      // Keep a (possibly empty) appliance per item so indices in messages match the file.
      ParseAppliance(item, field, item_line, &workshop_.appliances.emplace_back());
    }
  }

  void ParseTopLevel(const YAML::Node& root) {
    Workshop& w = workshop_;
    std::set<std::string> present;
    auto text = [&](std::string* out) {
      return [this, out](const std::string& key, const YAML::Node& v, int line) {
        if (auto s = String(v, key, line)) *out = *s;
      };
    };
    auto boolean = [&](bool* out) {
      return [this, out](const std::string& key, const YAML::Node& v, int line) {
        if (auto b = Bool(v, key, line)) *out = *b;
      };
    };
    auto integer = [&](int* out) {
      return [this, out](const std::string& key, const YAML::Node& v, int line) {
        if (auto n = Int(v, key, line)) *out = *n;
      };
    };
    using Handler = std::function<void(const std::string&, const YAML::Node&, int)>;
    const std::map<std::string_view, Handler> handlers = {
        {"name", text(&w.name)},
        {"description", text(&w.description)},
        {"active", boolean(&w.active)},
        {"capacity", integer(&w.capacity)},
        {"priority", integer(&w.priority)},
        {"range", [this](const std::string&, const YAML::Node& v, int l) { ParseRange(v, l); }},
        {"reset", boolean(&w.reset)},
        {"ldap", boolean(&w.ldap)},
        {"replayId", integer(&w.replay_id)},
        {"varpass", boolean(&w.varpass)},
        {"compile", boolean(&w.compile)},
        {"beta", boolean(&w.beta)},
        {"monoappliance", boolean(&w.monoappliance)},
        {"multiappliance", boolean(&w.multiappliance)},
        {"workshopImg", text(&w.workshop_img)},
        {"badgeImg", text(&w.badge_img)},
        {"category",
         [this](const std::string&, const YAML::Node& v, int l) { ParseCategory(v, l); }},
        {"duration", integer(&w.duration_hours)},
        {"presenter", text(&w.presenter)},
        {"role", text(&w.role)},
        {"avatar", text(&w.avatar)},
        {"replayLink", text(&w.replay_link)},
        {"videoLink", text(&w.video_link)},
        {"notebook", text(&w.notebook)},
        {"location", text(&w.location)},
        {"alternateLocation",
         [this](const std::string&, const YAML::Node& v, int l) { ParseAlternateLocations(v, l); }},
        {"appliances",
         [this](const std::string&, const YAML::Node& v, int l) { ParseAppliances(v, l); }},
        {"variables", [this, &w](const std::string& key, const YAML::Node& v,
                                 int l) { w.variables = StringMap(v, key, l); }},
    };
    ForEachKey(root, "", TopLevelKeys(), [&](const std::string& key, const YAML::Node& v, int l) {
      if (!v.IsNull()) present.insert(key);
      handlers.at(key)(key, v, l);
    });
    // These decide whether and how seats are booked; guessing a default would silently hide a
    // workshop or open seats nobody meant to open.
    for (std::string_view key : {"name", "active", "capacity", "range"}) {
      if (!present.count(std::string(key))) {
        std::string field(key);
        int line = lines_.LineOf(field);
        Error(line, field, line > 0 ? "is empty but required" : "is required but missing");
      }
    }
  }

  std::string_view file_;
  std::vector<Finding>* findings_;
  Workshop workshop_;
  FieldLines lines_;
  std::set<std::string> bad_fields_;
  int errors_ = 0;
};

bool RangeIsValid(const SeatRange& r) {
  return r.min >= kMinSeatNumber && r.max <= kMaxSeatNumber && r.min <= r.max;
}

std::string Where(const CatalogEntry& e, std::string_view field) {
  int line = e.lines.LineOf(field);
  return line > 0 ? absl::StrCat(e.file, ":", line) : e.file;
}

}  // namespace

int FieldLines::LineOf(std::string_view field) const {
  std::string f(field);
  while (true) {
    if (auto it = lines.find(f); it != lines.end()) return it->second;
    size_t cut = f.find_last_of(".[");
    if (cut == std::string::npos || cut == 0) return 0;
    f.resize(cut);
  }
}

bool Catalog::HasErrors() const { return ErrorCount() > 0; }

int Catalog::ErrorCount() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.severity == Severity::kError;
  }));
}

int Catalog::WarningCount() const { return static_cast<int>(findings.size()) - ErrorCount(); }

const CatalogEntry* Catalog::Find(std::string_view id) const {
  for (const CatalogEntry& e : entries) {
    if (e.workshop.id == id) return &e;
  }
  return nullptr;
}

std::optional<Workshop> ParseWorkshopYaml(std::string_view text, std::string_view file,
                                          std::string_view id, const std::string& default_location,
                                          std::vector<Finding>* findings, FieldLines* lines) {
  std::vector<Finding> local;
  std::vector<Finding>* out = findings != nullptr ? findings : &local;
  WorkshopParser parser(file, out);
  bool parsed = false;
  try {
    parsed = parser.Parse(text, id, default_location);
  } catch (const std::exception& e) {  // not expected: Parse catches yaml-cpp's own
    out->push_back({Severity::kError, std::string(file), 0, "", absl::StrCat("yaml: ", e.what())});
    return std::nullopt;
  }
  if (lines != nullptr) *lines = parser.lines();
  if (!parsed || parser.errors() > 0) return std::nullopt;
  return std::move(parser.workshop());
}

std::vector<Finding> CheckCatalog(const std::vector<CatalogEntry>& entries) {
  std::vector<Finding> out;
  std::vector<bool> skip(entries.size(), false);
  std::map<std::string, size_t> first_by_id;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto [it, inserted] = first_by_id.emplace(entries[i].workshop.id, i);
    if (!inserted) {
      skip[i] = true;
      out.push_back({Severity::kError, entries[i].file, 0, "",
                     absl::StrCat("workshop id ", Quote(entries[i].workshop.id),
                                  " is also defined in ", Quote(entries[it->second].file))});
    }
  }

  // An interval of numbers one workshop claims on its location: its seats, or the host ports
  // of one appliance port.
  struct Claim {
    int lo, hi;
    size_t entry;
    std::string field;
    std::string what;  // for messages: "range [1,6]" or "host ports 20000-20005 of ..."
  };
  std::map<std::string, std::vector<Claim>> seats, ports;
  auto claim_on = [&](const std::string& location, const Workshop& w, size_t i) {
    seats[location].push_back(
        {w.range.min, w.range.max, i, "range", absl::StrCat("range ", RangeText(w.range))});
    for (size_t a = 0; a < w.appliances.size(); ++a) {
      const Appliance& app = w.appliances[a];
      for (size_t p = 0; p < app.ports.size(); ++p) {
        const AppliancePort& port = app.ports[p];
        int64_t hi = int64_t{port.host_base} + w.range.size() - 1;
        if (port.host_base < 1 || hi > 65535 || port.container < 1 || port.container > 65535) {
          continue;  // already an error of that workshop
        }
        ports[location].push_back(
            {port.host_base, static_cast<int>(hi), i,
             absl::StrCat("appliances[", a, "].ports[", p, "].hostBase"),
             absl::StrCat("host ports ", port.host_base, "-", hi, " of appliance ", Quote(app.name),
                          " port ", port.container)});
      }
    }
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    const Workshop& w = entries[i].workshop;
    if (skip[i] || !RangeIsValid(w.range)) continue;
    // The range (and its host ports) exists on the workshop's location and on each alternate.
    for (const std::string& location : w.Locations()) claim_on(location, w, i);
  }

  // Reports each overlapping pair once, on the file of the workshop that must change: the
  // inactive one if exactly one is inactive, else the later one.
  auto report = [&](const std::string& location, const Claim& x, const Claim& y,
                    std::string_view kind) {
    const Claim* first = x.entry < y.entry ? &x : &y;
    const Claim* second = x.entry < y.entry ? &y : &x;
    const CatalogEntry& fe = entries[first->entry];
    const CatalogEntry& se = entries[second->entry];
    bool first_active = fe.workshop.active;
    bool second_active = se.workshop.active;
    if (!first_active && second_active) std::swap(first, second);
    const CatalogEntry& at = entries[second->entry];
    const CatalogEntry& other = entries[first->entry];
    std::string on = absl::StrCat("on location ", Quote(location));
    Finding f{Severity::kWarning, at.file, at.lines.LineOf(second->field), second->field, ""};
    std::string_view verb = kind == "seats" ? " overlaps " : " collide with ";
    std::string theirs = absl::StrCat(first->what, " of ", Quote(other.workshop.id), " (",
                                      Where(other, first->field), ") ", on);
    if (first_active && second_active) {
      f.severity = Severity::kError;
      f.message = absl::StrCat(second->what, " of ", Quote(at.workshop.id), AV(verb), theirs,
                               kind == "seats" ? ": a seat belongs to one workshop"
                                               : ": two seats would bind one host port");
    } else if (first_active || second_active) {
      f.message =
          absl::StrCat("inactive workshop ", Quote(at.workshop.id), " ", second->what, AV(verb),
                       theirs, "; it gets no seats while inactive, and activating it is an error");
    } else {
      f.message =
          absl::StrCat("inactive workshop ", Quote(at.workshop.id), " ", second->what, AV(verb),
                       first->what, " of inactive workshop ", Quote(other.workshop.id), " (",
                       Where(other, first->field), ") ", on, "; only one of them can be activated");
    }
    out.push_back(std::move(f));
  };
  auto sweep = [&](std::map<std::string, std::vector<Claim>>& by_location, std::string_view kind) {
    for (auto& [location, claims] : by_location) {
      std::sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
        return std::tie(a.lo, a.entry, a.field) < std::tie(b.lo, b.entry, b.field);
      });
      for (size_t i = 0; i < claims.size(); ++i) {
        for (size_t j = i + 1; j < claims.size() && claims[j].lo <= claims[i].hi; ++j) {
          // Ports of one workshop are checked by ValidateWorkshop, with better messages.
          if (claims[j].entry == claims[i].entry) continue;
          report(location, claims[i], claims[j], kind);
        }
      }
    }
  };
  sweep(seats, "seats");
  sweep(ports, "ports");
  return out;
}

Catalog BuildCatalog(const std::vector<CatalogSource>& sources, std::vector<Finding> findings,
                     const std::string& default_location) {
  Catalog catalog;
  catalog.findings = std::move(findings);
  std::vector<CatalogEntry> parsed;
  std::vector<bool> clean;
  for (const CatalogSource& src : sources) {
    WorkshopParser parser(src.file, &catalog.findings);
    bool ok = false;
    try {
      ok = parser.Parse(src.text, src.id, default_location);
    } catch (const std::exception& e) {
      catalog.findings.push_back(
          {Severity::kError, src.file, 0, "", absl::StrCat("yaml: ", e.what())});
      continue;
    }
    if (!ok) continue;
    parser.workshop().content_dir = src.absolute_content_dir;
    // Workshops with errors of their own still take part in the catalog-wide checks, so one
    // lint run reports everything it can.
    parsed.push_back(
        {std::move(parser.workshop()), src.file, src.content_dir, std::move(parser.lines())});
    clean.push_back(parser.errors() == 0);
  }

  std::vector<Finding> cross = CheckCatalog(parsed);
  catalog.findings.insert(catalog.findings.end(), cross.begin(), cross.end());

  std::set<std::string> seen;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (!seen.insert(parsed[i].workshop.id).second || !clean[i]) continue;
    catalog.entries.push_back(std::move(parsed[i]));
  }
  std::sort(
      catalog.entries.begin(), catalog.entries.end(),
      [](const CatalogEntry& a, const CatalogEntry& b) { return a.workshop.id < b.workshop.id; });
  std::stable_sort(catalog.findings.begin(), catalog.findings.end(),
                   [](const Finding& a, const Finding& b) {
                     return std::tie(a.file, a.line) < std::tie(b.file, b.line);
                   });
  return catalog;
}

std::string FormatFinding(const Finding& f) {
  std::string out = f.file;
  if (f.line > 0) absl::StrAppend(&out, ":", f.line);
  absl::StrAppend(&out, ": ", SeverityName(f.severity), ": ");
  if (!f.field.empty()) absl::StrAppend(&out, f.field, ": ");
  absl::StrAppend(&out, f.message);
  return out;
}

nlohmann::json FindingsToJson(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const Finding& f : findings) {
    out.push_back({{"severity", SeverityName(f.severity)},
                   {"file", f.file},
                   {"line", f.line},
                   {"field", f.field},
                   {"message", f.message}});
  }
  return out;
}

}  // namespace wod::model
