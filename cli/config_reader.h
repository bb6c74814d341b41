// Reading a YAML config file with errors that name the file, the line and the field
// ("ctl.yml:7: accounts.uid_base: ..."), shared by the sections of `wod controller` and `wod up`
// (cli/controller_config.cc, cli/up_cmd.cc). yaml-cpp exceptions stop here.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"

namespace wod::cli {

inline int LineOf(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

// Reads one file; every error carries "PATH:LINE: FIELD: ".
class ConfigReader {
 public:
  explicit ConfigReader(std::string path) : path_(std::move(path)) {
    std::filesystem::path dir = std::filesystem::path(path_).parent_path();
    std::error_code ec;
    base_dir_ = std::filesystem::absolute(dir.empty() ? std::filesystem::path(".") : dir, ec)
                    .lexically_normal();
  }

  absl::Status Fail(int line, const std::string& field, const std::string& message) const {
    if (field.empty())
      return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ": ", message));
    return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ": ", field, ": ", message));
  }
  absl::Status Fail(const YAML::Node& n, const std::string& field,
                    const std::string& message) const {
    return Fail(LineOf(n), field, message);
  }

  // Calls `handle(key, value)` for each entry of the map `n` named `field`; a key not in
  // `known` is an error naming it.
  absl::Status ForEachKey(
      const YAML::Node& n, const std::string& field, const std::set<std::string>& known,
      const std::function<absl::Status(const std::string&, const YAML::Node&)>& handle) const {
    if (n.IsNull()) return absl::OkStatus();
    if (!n.IsMap()) return Fail(n, field, "expected a mapping");
    std::map<std::string, int> seen;  // key -> line
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) return Fail(it->first, field, "expected a key");
      std::string key = it->first.Scalar();
      std::string name = field.empty() ? key : absl::StrCat(field, ".", key);
      if (auto [first, inserted] = seen.emplace(key, LineOf(it->first)); !inserted) {
        return Fail(it->first, name,
                    absl::StrCat("duplicate key (first on line ", first->second, ")"));
      }
      key_line_ = LineOf(it->first);
      if (!known.empty() && known.count(key) == 0) {
        std::string list;
        for (const auto& k : known) absl::StrAppend(&list, list.empty() ? "" : ", ", k);
        return Fail(it->first, name, absl::StrCat("unknown key (known: ", list, ")"));
      }
      RETURN_IF_ERROR(handle(key, it->second));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> String(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) return Fail(n, field, "expected a string");
    return n.Scalar();
  }

  absl::StatusOr<std::string> NonEmpty(const YAML::Node& n, const std::string& field) const {
    ASSIGN_OR_RETURN(std::string s, String(n, field));
    if (s.empty()) return Fail(n, field, "must not be empty");
    return s;
  }

  // A path; a relative one is taken relative to the config file's folder.
  absl::StatusOr<std::string> Path(const YAML::Node& n, const std::string& field) const {
    ASSIGN_OR_RETURN(std::string s, NonEmpty(n, field));
    std::filesystem::path p(s);
    if (p.is_relative()) p = base_dir_ / p;
    std::string out = p.lexically_normal().string();
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
  }

  absl::StatusOr<int64_t> Int(const YAML::Node& n, const std::string& field, int64_t min,
                              int64_t max) const {
    if (!n.IsScalar()) return Fail(n, field, "expected an integer");
    int64_t v = 0;
    try {
      v = n.as<int64_t>();
    } catch (const YAML::Exception&) {
      return Fail(n, field, absl::StrCat("expected an integer, got '", n.Scalar(), "'"));
    }
    if (v < min || v > max) {
      return Fail(n, field, absl::StrCat("must be between ", min, " and ", max));
    }
    return v;
  }

  // "15s", "500ms", "2m", "1h30m" (absl syntax), or a bare number of seconds.
  absl::StatusOr<absl::Duration> Duration(const YAML::Node& n, const std::string& field,
                                          absl::Duration min) const {
    if (!n.IsScalar()) return Fail(n, field, "expected a duration such as 15s or 500ms");
    std::string s = n.Scalar();
    absl::Duration d;
    bool ok = absl::ParseDuration(s, &d);
    if (!ok && !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos) {
      ok = absl::ParseDuration(s + "s", &d);
    }
    if (!ok) {
      return Fail(n, field,
                  absl::StrCat("expected a duration such as 15s or 500ms, got '", s, "'"));
    }
    if (d < min) {
      return Fail(n, field, absl::StrCat("must be at least ", absl::FormatDuration(min)));
    }
    return d;
  }

  const std::string& path() const { return path_; }
  // The line of the key whose value ForEachKey is handling: where an empty section is.
  int key_line() const { return key_line_; }

 private:
  std::string path_;
  std::filesystem::path base_dir_;
  mutable int key_line_ = 0;
};

}  // namespace wod::cli
