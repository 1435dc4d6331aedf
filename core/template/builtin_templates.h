#pragma once
// Chat templates built into the binary, for `--chat-template NAME` and as the
// fallback: compact Jinja that renders plain system/user/assistant
// conversations exactly as each family's Hugging Face template does.
#include <optional>
#include <string_view>
#include <vector>

namespace rs::chat {

std::vector<std::string_view> builtin_template_names();
std::optional<std::string_view> builtin_template_source(std::string_view name);

}  // namespace rs::chat
