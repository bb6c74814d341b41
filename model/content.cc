// The content vocabulary: seat variables, the manifest's JSON form and its validation. Every
// nlohmann call here is non-throwing (parse without exceptions, type checks before get).
#include "model/content.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "common/random.h"
#include "common/status.h"
#include "fmt/format.h"
#include "model/appliances.h"

namespace wod::model {
namespace {

using nlohmann::json;

absl::Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(fmt::format("malformed manifest: {}", why));
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string UpperIdentifier(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

absl::StatusOr<std::string> StringField(const json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return Malformed(fmt::format("'{}' is not a string", name));
  }
  return it->get<std::string>();
}

absl::StatusOr<int64_t> IntField(const json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) {
    return Malformed(fmt::format("'{}' is not an integer", name));
  }
  return it->get<int64_t>();
}

}  // namespace

bool IsTemplateFile(std::string_view file_name) {
  // WoD's copy_folder.yml: find patterns '*.ipynb *.yaml *.py *.sh *.src *.tf *.env
  // Variables.ps1', excludes '*-checkpoint.ipynb' (shell globs on the base name, case-sensitive).
  // Not *.yml: workshops ship Ansible playbooks whose {{ item.key }} is for Ansible at run time.
  static constexpr std::string_view kExtensions[] = {".ipynb", ".yaml", ".py", ".sh",
                                                     ".src",   ".tf",   ".env"};
  if (file_name == "Variables.ps1") return true;
  if (EndsWith(file_name, "-checkpoint.ipynb")) return false;
  for (std::string_view ext : kExtensions) {
    if (EndsWith(file_name, ext)) return true;
  }
  return false;
}

TemplateVariables SeatVariables(const Workshop& workshop, const Location& location, int seat,
                                std::string_view password,
                                const std::map<std::string, std::string>& operator_vars) {
  TemplateVariables vars;
  vars["MODEWS"] = "WKSHP";
  for (const auto& [k, v] : operator_vars) vars[k] = v;
  for (const auto& [k, v] : workshop.variables) vars[k] = v;

  vars["STDID"] = std::to_string(seat);
  vars["PASSSTU"] = std::string(password);
  // The location's fqdn (`wod location set --fqdn`) when set; else the operator's value
  // (config `variables:`), which an empty fqdn must not erase.
  if (!location.fqdn.empty()) vars["WODBEEXTFQDN"] = location.fqdn;
  const std::string fqdn = vars["WODBEEXTFQDN"];

  std::optional<int> http_port;
  std::optional<int> first_port;
  for (const Appliance& appliance : workshop.appliances) {
    for (const AppliancePort& port : appliance.ports) {
      const int host = ApplianceHostPort(port, seat, workshop.range);
      vars[fmt::format("{}_PORT_{}", UpperIdentifier(appliance.name), port.container)] =
          std::to_string(host);
      if (!first_port) first_port = host;
      if (!http_port && port.container == 80) http_port = host;
    }
  }
  if (!http_port) http_port = first_port;
  if (!http_port) {
    const auto base = vars.find("HTTPPORTBASE");
    int value = 0;
    if (base != vars.end() && absl::SimpleAtoi(base->second, &value)) {
      http_port = value + seat - workshop.range.min;
    }
  }
  if (http_port) {
    vars["HTTPPORT"] = std::to_string(*http_port);
    vars["HTTPPORT-" + workshop.id] = std::to_string(*http_port);
  }
  if (!workshop.appliances.empty()) vars["IP-" + workshop.id] = fqdn;
  return vars;
}

std::string ContentHash(const std::vector<ManifestFile>& files) {
  std::vector<const ManifestFile*> sorted;
  sorted.reserve(files.size());
  for (const ManifestFile& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(),
            [](const ManifestFile* a, const ManifestFile* b) { return a->path < b->path; });
  std::string text;
  for (const ManifestFile* f : sorted) {
    text += f->path;
    text += '\0';
    text += fmt::format("{:o}", f->mode);
    text += '\0';
    text += f->sha256;
    text += '\n';
  }
  return common::Sha256Hex(text);
}

bool IsSafeFolderName(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos) {
    return false;
  }
  while (true) {
    const size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

json ManifestToJson(const ContentManifest& m) {
  json files = json::array();
  for (const ManifestFile& f : m.files) {
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"mode", f.mode}});
  }
  json notebooks = json::object();
  for (const auto& [path, baseline] : m.notebooks) notebooks[path] = BaselineToJson(baseline);
  return json{{"version", ContentManifest::kVersion},
              {"registration_id", m.registration_id},
              {"workshop", m.workshop},
              {"reset_epoch", m.reset_epoch},
              {"seat", m.seat},
              {"folder", m.folder},
              {"content_hash", m.content_hash},
              {"workspace", m.workspace},
              {"files", std::move(files)},
              {"notebooks", std::move(notebooks)}};
}

absl::StatusOr<ContentManifest> ManifestFromJson(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Malformed("not valid JSON");
  if (!j.is_object()) return Malformed("not a JSON object");
  ASSIGN_OR_RETURN(int64_t version, IntField(j, "version"));
  if (version != ContentManifest::kVersion) {
    return Malformed(fmt::format("version {} is not supported", version));
  }
  ContentManifest m;
  ASSIGN_OR_RETURN(m.registration_id, IntField(j, "registration_id"));
  ASSIGN_OR_RETURN(m.workshop, StringField(j, "workshop"));
  ASSIGN_OR_RETURN(m.reset_epoch, IntField(j, "reset_epoch"));
  ASSIGN_OR_RETURN(int64_t seat, IntField(j, "seat"));
  if (seat < 0 || seat > std::numeric_limits<int>::max()) return Malformed("'seat' out of range");
  m.seat = static_cast<int>(seat);
  ASSIGN_OR_RETURN(m.folder, StringField(j, "folder"));
  if (!IsSafeFolderName(m.folder)) return Malformed("'folder' is not a plain folder name");
  ASSIGN_OR_RETURN(m.content_hash, StringField(j, "content_hash"));
  ASSIGN_OR_RETURN(m.workspace, StringField(j, "workspace"));
  const std::string expected_workspace =
      fmt::format("{}/{}", kJupyterWorkspacesDir, kJupyterDefaultWorkspaceFile);
  if (!m.workspace.empty() && m.workspace != expected_workspace) {
    return Malformed("'workspace' is not the default JupyterLab workspace");
  }
  const std::string prefix = m.folder + "/";
  auto inside_folder = [&](const std::string& path) {
    return IsSafeRelativePath(path) && path.compare(0, prefix.size(), prefix) == 0;
  };

  const auto files = j.find("files");
  if (files == j.end() || !files->is_array()) return Malformed("no 'files' array");
  for (const json& f : *files) {
    if (!f.is_object()) return Malformed("a file is not an object");
    ManifestFile file;
    ASSIGN_OR_RETURN(file.path, StringField(f, "path"));
    if (!inside_folder(file.path)) {
      return Malformed(fmt::format("file '{}' is not inside the folder", file.path));
    }
    ASSIGN_OR_RETURN(file.sha256, StringField(f, "sha256"));
    ASSIGN_OR_RETURN(int64_t mode, IntField(f, "mode"));
    if (mode != 0644 && mode != 0755) return Malformed("a file 'mode' is not 0644 or 0755");
    file.mode = static_cast<int>(mode);
    m.files.push_back(std::move(file));
  }
  std::sort(m.files.begin(), m.files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.path < b.path; });

  const auto notebooks = j.find("notebooks");
  if (notebooks == j.end() || !notebooks->is_object()) return Malformed("no 'notebooks' object");
  for (const auto& [path, baseline_json] : notebooks->items()) {
    if (!inside_folder(path)) {
      return Malformed(fmt::format("notebook '{}' is not inside the folder", path));
    }
    auto baseline = BaselineFromJson(baseline_json);
    if (!baseline.ok()) return Malformed(std::string(baseline.status().message()));
    m.notebooks.emplace(path, *std::move(baseline));
  }
  return m;
}

const char* ManifestStateName(ObservedSeatContent::Manifest state) {
  switch (state) {
    case ObservedSeatContent::Manifest::kMissing:
      return "missing";
    case ObservedSeatContent::Manifest::kCorrupt:
      return "corrupt";
    case ObservedSeatContent::Manifest::kPresent:
      return "present";
  }
  return "unknown";
}

std::string ObservedSeatContent::Describe() const {
  std::string out =
      fmt::format("seat {} home '{}' manifest {}", seat, home, ManifestStateName(manifest_state));
  if (manifest_state == Manifest::kCorrupt) out += fmt::format(" ({})", manifest_error);
  if (manifest_state == Manifest::kPresent) {
    out += fmt::format(" registration {} workshop '{}' epoch {}{}, {}/{} cells", registration_id,
                       workshop, reset_epoch, files_intact ? "" : " (files missing)",
                       total.executed, total.Counted());
  }
  return out;
}

const ObservedSeatContent* ObservedContent::Find(int seat) const {
  const auto it = std::lower_bound(seats.begin(), seats.end(), seat,
                                   [](const ObservedSeatContent& s, int n) { return s.seat < n; });
  return it != seats.end() && it->seat == seat ? &*it : nullptr;
}

ContentAction ContentAction::Deploy(int seat, int64_t registration_id, std::string workshop,
                                    int64_t reset_epoch, std::string content_dir,
                                    TemplateVariables variables, std::string reason) {
  ContentAction a;
  a.kind = Kind::kDeploy;
  a.seat = seat;
  a.registration_id = registration_id;
  a.workshop = std::move(workshop);
  a.reset_epoch = reset_epoch;
  a.content_dir = std::move(content_dir);
  a.variables = std::move(variables);
  a.reason = std::move(reason);
  return a;
}

ContentAction ContentAction::Wipe(int seat, std::string workshop, std::string reason) {
  ContentAction a;
  a.kind = Kind::kWipe;
  a.seat = seat;
  a.workshop = std::move(workshop);
  a.reason = std::move(reason);
  return a;
}

ContentAction ContentAction::Harvest(int seat, int64_t registration_id, std::string workshop,
                                     std::string reason) {
  ContentAction a;
  a.kind = Kind::kHarvest;
  a.seat = seat;
  a.registration_id = registration_id;
  a.workshop = std::move(workshop);
  a.reason = std::move(reason);
  return a;
}

const char* ContentActionKindName(ContentAction::Kind kind) {
  switch (kind) {
    case ContentAction::Kind::kDeploy:
      return "deploy";
    case ContentAction::Kind::kWipe:
      return "wipe";
    case ContentAction::Kind::kHarvest:
      return "harvest";
  }
  return "unknown";
}

std::string ContentAction::Describe() const {
  std::string out = fmt::format("{} seat {}", ContentActionKindName(kind), seat);
  if (kind != Kind::kWipe) out += fmt::format(" registration {}", registration_id);
  if (!workshop.empty()) out += fmt::format(" workshop '{}'", workshop);
  if (kind == Kind::kDeploy) out += fmt::format(" epoch {}", reset_epoch);
  if (!reason.empty()) out += fmt::format(" ({})", reason);
  return out;
}

std::string HarvestResult::ProgressJson() const { return ProgressReportToJson(notebooks).dump(); }

json HarvestResult::ToJson() const {
  return json{{"seat", seat},         {"registration_id", registration_id},
              {"workshop", workshop}, {"archive", archive},
              {"skipped", skipped},   {"progress", ProgressReportToJson(notebooks)}};
}

absl::StatusOr<HarvestResult> HarvestResultFromJson(const json& j) {
  auto malformed = [](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("malformed harvest record: {}", why));
  };
  if (!j.is_object()) return malformed("not an object");
  HarvestResult r;
  const auto seat = j.find("seat");
  const auto registration = j.find("registration_id");
  const auto workshop = j.find("workshop");
  const auto archive = j.find("archive");
  const auto skipped = j.find("skipped");
  const auto progress = j.find("progress");
  if (seat == j.end() || !seat->is_number_integer()) return malformed("'seat'");
  if (registration == j.end() || !registration->is_number_integer()) {
    return malformed("'registration_id'");
  }
  if (workshop == j.end() || !workshop->is_string()) return malformed("'workshop'");
  if (archive == j.end() || !archive->is_string()) return malformed("'archive'");
  if (skipped == j.end() || !skipped->is_array()) return malformed("'skipped'");
  if (progress == j.end()) return malformed("'progress'");
  r.seat = seat->get<int>();
  r.registration_id = registration->get<int64_t>();
  r.workshop = workshop->get<std::string>();
  r.archive = archive->get<std::string>();
  for (const json& s : *skipped) {
    if (!s.is_string()) return malformed("'skipped' holds a non-string");
    r.skipped.push_back(s.get<std::string>());
  }
  ASSIGN_OR_RETURN(r.notebooks, ProgressReportFromJson(*progress));
  r.total = Total(r.notebooks);
  return r;
}

}  // namespace wod::model
