#include "catalogfs/yaml_writer.h"

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fmt/format.h"
#include "model/strings.h"
#include "model/validate.h"

namespace wod::catalogfs {
namespace {

using model::AV;

void AppendCodePointEscape(std::string* out, uint32_t cp) {
  absl::StrAppend(out, fmt::format("\\u{:04X}", cp));
}

// A double-quoted YAML scalar that yaml-cpp reads back byte for byte: control characters and
// the characters YAML treats as line breaks or a byte order mark are escaped; everything else
// (valid UTF-8, checked by the parser) is written as is.
std::string Q(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      absl::StrAppend(&out, fmt::format("\\x{:02X}", c));
      continue;
    }
    // C1 controls (U+0080-U+009F, incl. NEL) are C2 80-9F.
    if (c == 0xC2 && i + 1 < s.size()) {
      unsigned char d = static_cast<unsigned char>(s[i + 1]);
      if (d >= 0x80 && d <= 0x9F) {
        AppendCodePointEscape(&out, d);
        ++i;
        continue;
      }
    }
    // U+2028, U+2029 (line and paragraph separators) and U+FEFF (byte order mark).
    if ((c == 0xE2 || c == 0xEF) && i + 2 < s.size()) {
      uint32_t cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
      if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF) {
        AppendCodePointEscape(&out, cp);
        i += 2;
        continue;
      }
    }
    out += static_cast<char>(c);
  }
  out += '"';
  return out;
}

std::string B(bool b) { return b ? "true" : "false"; }

std::string FlowList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& s : items) quoted.push_back(Q(s));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

}  // namespace

std::string WorkshopToYaml(const model::Workshop& w) {
  std::string out;
  if (model::ValidateWorkshopId(w.id).ok()) absl::StrAppend(&out, "# ", w.id, "\n");
  auto text = [&](std::string_view key, const std::string& value, bool always = false) {
    if (always || !value.empty()) absl::StrAppend(&out, AV(key), ": ", Q(value), "\n");
  };
  text("name", w.name, true);
  text("description", w.description);
  absl::StrAppend(&out, "active: ", B(w.active), "\n");
  absl::StrAppend(&out, "capacity: ", w.capacity, "\n");
  absl::StrAppend(&out, "priority: ", w.priority, "\n");
  absl::StrAppend(&out, "range: [", w.range.min, ", ", w.range.max, "]\n");
  absl::StrAppend(&out, "reset: ", B(w.reset), "\n");
  absl::StrAppend(&out, "ldap: ", B(w.ldap), "\n");
  absl::StrAppend(&out, "replayId: ", w.replay_id, "\n");
  absl::StrAppend(&out, "varpass: ", B(w.varpass), "\n");
  absl::StrAppend(&out, "compile: ", B(w.compile), "\n");
  absl::StrAppend(&out, "beta: ", B(w.beta), "\n");
  absl::StrAppend(&out, "monoappliance: ", B(w.monoappliance), "\n");
  absl::StrAppend(&out, "multiappliance: ", B(w.multiappliance), "\n");
  text("workshopImg", w.workshop_img);
  text("badgeImg", w.badge_img);
  if (!w.category.empty()) absl::StrAppend(&out, "category: ", FlowList(w.category), "\n");
  absl::StrAppend(&out, "duration: ", w.duration_hours, "\n");
  text("presenter", w.presenter);
  text("role", w.role);
  text("avatar", w.avatar);
  text("replayLink", w.replay_link);
  text("videoLink", w.video_link);
  text("notebook", w.notebook);
  text("location", w.location);
  if (!w.alternate_locations.empty()) {
    absl::StrAppend(&out, "alternateLocation: ", FlowList(w.alternate_locations), "\n");
  }
  if (!w.appliances.empty()) {
    out += "appliances:\n";
    for (const model::Appliance& a : w.appliances) {
      absl::StrAppend(&out, "  - name: ", Q(a.name), "\n");
      absl::StrAppend(&out, "    image: ", Q(a.image), "\n");
      if (!a.command.empty()) absl::StrAppend(&out, "    command: ", FlowList(a.command), "\n");
      if (!a.ports.empty()) {
        out += "    ports:\n";
        for (const model::AppliancePort& p : a.ports) {
          absl::StrAppend(&out, "      - {container: ", p.container, ", hostBase: ", p.host_base,
                          "}\n");
        }
      }
      if (!a.env.empty()) {
        out += "    env:\n";
        for (const auto& [k, v] : a.env) absl::StrAppend(&out, "      ", Q(k), ": ", Q(v), "\n");
      }
      if (a.memory_bytes != 0) {
        absl::StrAppend(&out, "    memory: ", Q(model::FormatMemory(a.memory_bytes)), "\n");
      }
      if (a.cpus != 0) absl::StrAppend(&out, "    cpus: ", fmt::format("{}", a.cpus), "\n");
      absl::StrAppend(&out, "    privileged: ", B(a.privileged), "\n");
    }
  }
  if (!w.variables.empty()) {
    out += "variables:\n";
    for (const auto& [k, v] : w.variables) absl::StrAppend(&out, "  ", Q(k), ": ", Q(v), "\n");
  }
  return out;
}

}  // namespace wod::catalogfs
