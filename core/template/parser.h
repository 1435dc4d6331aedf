#pragma once
// Template source to a syntax tree, with Jinja2's grammar and precedence.
// Anything outside the supported subset (an unknown tag, filter or test, a
// recursive loop) is a TemplateError that names it and the line.
#include <string>
#include <string_view>

#include "core/template/ast.h"

namespace rs::jinja {

ast::Body parse_template(std::string_view source, const std::string& template_name);

}  // namespace rs::jinja
