#include "catalogfs/load.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace wod::catalogfs {
namespace {

namespace fs = std::filesystem;
using model::Finding;
using model::Severity;

// No real wod.yml comes near this; the cap keeps a stray large file from being parsed.
constexpr size_t kMaxFileSize = 1 << 20;

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = absl::ascii_tolower(s[0]);
  return s;
}

struct Source {
  std::string file;
  std::string id;
  std::string content_dir;
};

bool HasYamlExtension(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yml" || ext == ".yaml";
}

// The last component of `p`, also for "dir/" and ".".
std::string BaseName(const fs::path& p) {
  fs::path q = p.lexically_normal();
  if (q.filename().empty()) q = q.parent_path();
  std::string name = q.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    fs::path abs = fs::absolute(q, ec);
    if (!ec) {
      abs = abs.lexically_normal();
      if (abs.filename().empty()) abs = abs.parent_path();
      name = abs.filename().string();
    }
  }
  return name;
}

bool IsRegularFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

void Discover(const std::string& path, std::vector<Source>* sources,
              std::vector<Finding>* findings) {
  auto error = [&](std::string file, std::string message) {
    findings->push_back({Severity::kError, std::move(file), 0, "", std::move(message)});
  };
  auto warning = [&](std::string file, std::string message) {
    findings->push_back({Severity::kWarning, std::move(file), 0, "", std::move(message)});
  };
  std::error_code ec;
  fs::path p(path);
  fs::file_status st = fs::status(p, ec);
  if (ec || !fs::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      error(path, absl::StrCat("cannot be read: ", LowerFirst(ec.message())));
    } else {
      error(path, "does not exist");
    }
    return;
  }
  if (!fs::is_directory(st)) {
    fs::path parent = p.parent_path();
    if (p.filename() == "wod.yml") {
      sources->push_back({path, BaseName(parent.empty() ? fs::path(".") : parent),
                          parent.empty() ? "." : parent.string()});
    } else {
      sources->push_back({path, p.stem().string(), ""});
    }
    return;
  }
  if (IsRegularFile(p / "wod.yml")) {  // a workshop folder itself
    sources->push_back({(p / "wod.yml").string(), BaseName(p), path});
    return;
  }
  std::vector<fs::directory_entry> children;
  fs::directory_iterator it(p, ec);
  if (ec) {
    error(path, absl::StrCat("cannot be listed: ", LowerFirst(ec.message())));
    return;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      error(path, absl::StrCat("cannot be listed: ", LowerFirst(ec.message())));
      return;
    }
    children.push_back(*it);
  }
  std::sort(children.begin(), children.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  size_t found = 0;
  for (const fs::directory_entry& child : children) {
    std::string name = child.path().filename().string();
    if (!name.starts_with("WKSHP-")) continue;
    std::error_code child_ec;
    if (child.is_directory(child_ec)) {
      fs::path yml = child.path() / "wod.yml";
      if (IsRegularFile(yml)) {
        sources->push_back({yml.string(), name, child.path().string()});
        ++found;
      } else {
        warning(child.path().string(), "workshop folder has no wod.yml; skipped");
      }
    } else if (HasYamlExtension(child.path())) {
      sources->push_back({child.path().string(), child.path().stem().string(), ""});
      ++found;
    }
  }
  if (found == 0) warning(path, "holds no WKSHP-*/wod.yml folder and no WKSHP-*.yml file");
}

// Reads a file of at most kMaxFileSize bytes; on failure returns a lowercase reason.
std::optional<std::string> ReadSmallFile(const std::string& path, std::string* reason) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *reason = absl::StrCat("cannot be read: ", LowerFirst(std::strerror(errno)));
    return std::nullopt;
  }
  std::string data;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    data.append(buf, n);
    if (data.size() > kMaxFileSize) {
      std::fclose(f);
      *reason = absl::StrCat("is larger than ", kMaxFileSize / 1024, " KiB");
      return std::nullopt;
    }
  }
  bool failed = std::ferror(f) != 0;
  int e = errno;
  std::fclose(f);
  if (failed) {
    *reason = absl::StrCat("cannot be read: ", LowerFirst(std::strerror(e)));
    return std::nullopt;
  }
  return data;
}

}  // namespace

model::Catalog LoadCatalog(const std::vector<std::string>& paths,
                           const std::string& default_location) {
  std::vector<Finding> findings;
  std::vector<Source> found;
  for (const std::string& path : paths) Discover(path, &found, &findings);

  std::vector<model::CatalogSource> sources;
  for (const Source& src : found) {
    std::string reason;
    std::optional<std::string> text = ReadSmallFile(src.file, &reason);
    if (!text) {
      findings.push_back({Severity::kError, src.file, 0, "", reason});
      continue;
    }
    model::CatalogSource source{src.file, src.id, src.content_dir, "", *std::move(text)};
    if (!src.content_dir.empty()) {
      std::error_code ec;
      fs::path abs = fs::absolute(src.content_dir, ec).lexically_normal();
      if (!abs.has_filename()) abs = abs.parent_path();  // "dir/" -> "dir"
      source.absolute_content_dir = ec ? src.content_dir : abs.string();
    }
    sources.push_back(std::move(source));
  }
  return model::BuildCatalog(sources, std::move(findings), default_location);
}

}  // namespace wod::catalogfs
