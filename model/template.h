// The Jinja subset that Workshops-on-Demand notebooks and scripts use, rendered without Python:
// `{{ NAME }}`, string literals, `hostvars[inventory_hostname]['KEY']`, `{% if %}` with `==` /
// `!=`, `{% elif %}`, `{% else %}`, `{% raw %}`, `{# comments #}` and `-` whitespace trimming.
// Pure: no I/O, no clock. docs/templates.md describes the subset, the errors and the escaping.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace wod::model {

// Template variables: STDID, PASSSTU, WODBEEXTFQDN, HTTPPORT, BRANDING*, MODEWS, ... A
// `hostvars[inventory_hostname]['KEY']` lookup reads the variable KEY from the same map.
using TemplateVariables = std::map<std::string, std::string>;

enum class TemplateEscape {
  // Values are inserted as they are, like Ansible's template module does.
  kNone,
  // The template is a JSON document (a notebook) whose tags sit inside JSON strings: escape
  // sequences inside a tag are decoded before the tag is read (so `[\"KEY\"]` is `["KEY"]`),
  // and every value an expression produces is JSON-string-escaped before insertion, so a value
  // holding `"` or `\` cannot break the notebook.
  kJson,
};

struct TemplateOptions {
  TemplateEscape escape = TemplateEscape::kNone;
  // Drop the first newline after a `{% %}` tag or a comment, as Ansible's template module does
  // by default; `+%}` keeps it for one tag.
  bool trim_blocks = true;
};

// kJson for notebooks (`*.ipynb`), kNone for everything else.
TemplateOptions TemplateOptionsForFile(std::string_view file_name);

namespace internal {
struct ParsedTemplate;
}

// A parsed template: parse once per workshop file, render once per seat. Cheap to copy.
class Template {
 public:
  // Syntax errors (unclosed tag or block, unknown tag, malformed expression) are
  // InvalidArgument "FILE:LINE: what".
  [[nodiscard]] static absl::StatusOr<Template> Parse(std::string_view text,
                                                      std::string_view file_name,
                                                      const TemplateOptions& options);

  // Only the branches taken are evaluated (as in Jinja), so a variable used in an untaken
  // branch need not be defined. An undefined variable is InvalidArgument
  // "FILE:LINE: undefined variable 'NAME'".
  [[nodiscard]] absl::StatusOr<std::string> Render(const TemplateVariables& vars) const;

  // Every variable any branch may read, sorted and unique: what a linter checks is defined.
  std::vector<std::string> ReferencedVariables() const;

 private:
  explicit Template(std::shared_ptr<const internal::ParsedTemplate> parsed);
  std::shared_ptr<const internal::ParsedTemplate> parsed_;
};

// Parses and renders in one call, with the options TemplateOptionsForFile(file_name) picks.
[[nodiscard]] absl::StatusOr<std::string> RenderTemplate(std::string_view text,
                                                         const TemplateVariables& vars,
                                                         std::string_view file_name);
[[nodiscard]] absl::StatusOr<std::string> RenderTemplate(std::string_view text,
                                                         const TemplateVariables& vars,
                                                         std::string_view file_name,
                                                         const TemplateOptions& options);

// The variables a template references (see Template::ReferencedVariables), or its syntax error.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ReferencedVariables(
    std::string_view text, std::string_view file_name);

}  // namespace wod::model
