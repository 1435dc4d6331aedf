#include "core/template/error.h"

#include <fmt/format.h>

namespace rs::jinja {

TemplateError::TemplateError(std::string template_name, int line, std::string reason, bool raised_by_template)
    : std::runtime_error(fmt::format("template '{}', line {}: {}", template_name, line, reason)),
      template_name_(std::move(template_name)),
      line_(line),
      reason_(std::move(reason)),
      raised_by_template_(raised_by_template) {}

}  // namespace rs::jinja
