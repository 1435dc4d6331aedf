#include "core/template/template.h"

#include "core/template/evaluator.h"
#include "core/template/parser.h"

namespace rs::jinja {

Template::Template(std::string_view source, std::string name)
    : name_(std::move(name)), body_(parse_template(source, name_)) {}

std::string Template::render(const Object& variables, const limits::Budget& budget) const {
  return jinja::render(body_, name_, variables, budget);
}

}  // namespace rs::jinja
