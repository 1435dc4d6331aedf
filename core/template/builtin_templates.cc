#include "core/template/builtin_templates.h"

#include <utility>

namespace rs::chat {
namespace {

// ChatML (Qwen, SmolLM, many fine-tunes): no default system message.
constexpr std::string_view chatml = R"({%- for message in messages %}
    {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %})";

// SmolLM2: ChatML with its default system message.
constexpr std::string_view smollm2 = R"({%- if messages and messages[0]['role'] != 'system' %}
    {{- '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
    {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %})";

// Llama 2 chat: the system message goes inside the first [INST] block; BOS opens every user turn.
constexpr std::string_view llama2 =
    R"({%- set system = messages[0]['content'] if messages and messages[0]['role'] == 'system' else none %}
{%- for message in (messages[1:] if system is not none else messages) %}
    {%- if (message['role'] == 'user') != loop.index0 is even %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- set content = ('<<SYS>>\n' + system + '\n<</SYS>>\n\n' if loop.first and system is not none else '')
                      + message['content'] %}
    {%- if message['role'] == 'user' %}
        {{- bos_token + '[INST] ' + content.strip() + ' [/INST]' }}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + content.strip() + ' ' + eos_token }}
    {%- endif %}
{%- endfor %})";

// Llama 3 instruct: header-delimited turns with trimmed content.
constexpr std::string_view llama3 = R"({%- for message in messages %}
    {%- if loop.first %}{{ bos_token }}{% endif %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %})";

// Mistral instruct v0.1/v0.2: [INST] blocks, the system message before the first user message.
constexpr std::string_view mistral =
    R"({%- set system = messages[0]['content'] if messages and messages[0]['role'] == 'system' else none %}
{{- bos_token }}
{%- for message in (messages[1:] if system is not none else messages) %}
    {%- if (message['role'] == 'user') != loop.index0 is even %}
        {{- raise_exception('After the optional system message, conversation roles must alternate '
                            'user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {{- ' [INST] ' + (system + '\n\n' if loop.first and system is not none else '')
            + message['content'] + ' [/INST]' }}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token }}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, '
                            'with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %})";

// Gemma: user/model turns. Gemma has no system role; this folds a system
// message into the first user turn where Gemma's own template rejects it.
constexpr std::string_view gemma =
    R"({%- set system = messages[0]['content'] | trim if messages and messages[0]['role'] == 'system' else none %}
{{- bos_token }}
{%- for message in (messages[1:] if system is not none else messages) %}
    {%- if (message['role'] == 'user') != loop.index0 is even %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- set content = (system + '\n\n' if loop.first and system is not none else '') + message['content'] | trim %}
    {{- '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\n'
        + content + '<end_of_turn>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<start_of_turn>model\n' }}
{%- endif %})";

// Phi-3: <|role|> turns ended by <|end|>; EOS ends a conversation without a generation prompt.
constexpr std::string_view phi3 =
    R"({%- for message in messages if message['role'] in ['system', 'user', 'assistant'] %}
    {{- '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}
{%- endfor %}
{{- '<|assistant|>\n' if add_generation_prompt else eos_token }})";

// Zephyr (and TinyLlama chat): <|role|> turns ended by EOS and a newline.
constexpr std::string_view zephyr =
    R"({%- for message in messages if message['role'] in ['system', 'user', 'assistant'] %}
    {{- '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}
{%- endfor %}
{%- if add_generation_prompt and messages %}
    {{- '<|assistant|>\n' }}
{%- endif %})";

constexpr std::pair<std::string_view, std::string_view> templates[] = {
    {"chatml", chatml},   {"gemma", gemma}, {"llama2", llama2},   {"llama3", llama3},
    {"mistral", mistral}, {"phi3", phi3},   {"smollm2", smollm2}, {"zephyr", zephyr},
};

}  // namespace

std::vector<std::string_view> builtin_template_names() {
  std::vector<std::string_view> names;
  for (const auto& [name, source] : templates) names.push_back(name);
  return names;
}

std::optional<std::string_view> builtin_template_source(std::string_view name) {
  for (const auto& [candidate, source] : templates) {
    if (candidate == name) return source;
  }
  return std::nullopt;
}

}  // namespace rs::chat
