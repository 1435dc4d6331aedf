#include "core/template/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/template/builtins.h"
#include "core/template/error.h"
#include "core/template/lexer.h"
#include "core/template/limits.h"

namespace rs::jinja {
namespace {

using ast::ExprPtr;

template <typename Node>
ExprPtr make(int line, Node node) {
  return std::make_unique<ast::Expr>(ast::Expr{line, std::move(node)});
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& template_name)
      : tokens_(std::move(tokens)), name_(template_name) {}

  ast::Body parse_template() { return parse_body({}, nullptr); }

 private:
  // Counts nesting on the recursive paths, so that deep source fails cleanly.
  class Nesting {
   public:
    explicit Nesting(Parser& parser) : parser_(parser) {
      if (++parser_.nesting_ > limits::max_parse_nesting) parser_.fail("the template nests too deeply");
    }
    ~Nesting() { --parser_.nesting_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Parser& parser_;
  };

  const Token& current() const { return tokens_[pos_]; }
  const Token& peek() const { return tokens_[std::min(pos_ + 1, tokens_.size() - 1)]; }
  int line() const { return current().line; }
  const Token& advance() {
    const Token& token = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return token;
  }

  bool at(TokenKind kind) const { return current().kind == kind; }
  bool at_op(std::string_view op) const { return at(TokenKind::op) && current().value == op; }
  bool at_name(std::string_view name) const { return at(TokenKind::name) && current().value == name; }
  bool skip_op(std::string_view op) { return at_op(op) ? (advance(), true) : false; }
  bool skip_name(std::string_view name) { return at_name(name) ? (advance(), true) : false; }

  [[noreturn]] void fail(const std::string& reason) const { throw TemplateError(name_, line(), reason); }

  static std::string describe(const Token& token) {
    switch (token.kind) {
      case TokenKind::text: return "template data";
      case TokenKind::variable_begin: return "'{{'";
      case TokenKind::variable_end: return "end of print statement";
      case TokenKind::block_begin: return "'{%'";
      case TokenKind::block_end: return "end of statement block";
      case TokenKind::name:
      case TokenKind::op: return "'" + token.value + "'";
      case TokenKind::string: return "string";
      case TokenKind::integer:
      case TokenKind::floating: return "number";
      case TokenKind::end: return "end of template";
    }
    return "token";
  }

  void expect(TokenKind kind, std::string_view what) {
    if (!at(kind)) fail(fmt::format("expected {}, got {}", what, describe(current())));
    advance();
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail(fmt::format("expected '{}', got {}", op, describe(current())));
  }
  std::string expect_name() {
    if (!at(TokenKind::name)) fail(fmt::format("expected a name, got {}", describe(current())));
    return advance().value;
  }
  void expect_block_end() { expect(TokenKind::block_end, "end of statement block"); }

  // Statements up to a `{% tag %}` in `end_tags`, whose name is consumed and
  // stored in `found_end`; the rest of that tag is the caller's to parse.
  ast::Body parse_body(std::initializer_list<std::string_view> end_tags, std::string* found_end) {
    ast::Body body;
    while (true) {
      const int statement_line = line();
      if (at(TokenKind::end)) {
        if (end_tags.size() == 0) return body;
        fail(fmt::format("unexpected end of template, expected '{}'", *end_tags.begin()));
      }
      if (at(TokenKind::text)) {
        body.push_back(ast::Stmt{statement_line, ast::Text{advance().value}});
      } else if (skip_kind(TokenKind::variable_begin)) {
        ExprPtr value = parse_tuple();
        expect(TokenKind::variable_end, "end of print statement");
        body.push_back(ast::Stmt{statement_line, ast::Print{std::move(value)}});
      } else {
        expect(TokenKind::block_begin, "'{%'");
        if (at(TokenKind::name) && std::find(end_tags.begin(), end_tags.end(), current().value) != end_tags.end()) {
          *found_end = advance().value;
          return body;
        }
        parse_statement(body, statement_line);
      }
    }
  }

  bool skip_kind(TokenKind kind) { return at(kind) ? (advance(), true) : false; }

  void parse_statement(ast::Body& body, int statement_line) {
    const Nesting nesting(*this);
    const std::string tag = expect_name();
    const auto add = [&](auto node) { body.push_back(ast::Stmt{statement_line, std::move(node)}); };
    if (tag == "if") return add(parse_if());
    if (tag == "for") return add(parse_for());
    if (tag == "set") return parse_set(body, statement_line);
    if (tag == "macro") return add(parse_macro());
    if (tag == "call") return add(parse_call_block());
    if (tag == "filter") {
      ast::FilterBlock block{parse_filter_chain(true), {}};
      block.body = parse_block_body("endfilter");
      return add(std::move(block));
    }
    if (tag == "with") return add(parse_with());
    if (tag == "generation") {
      // transformers' extension marks assistant text; rendering it is rendering its body.
      ast::With scope;
      scope.body = parse_block_body("endgeneration");
      return add(std::move(scope));
    }
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail(fmt::format("'{}' outside of a loop", tag));
      expect_block_end();
      return tag == "break" ? add(ast::Break{}) : add(ast::Continue{});
    }
    static constexpr std::string_view unsupported[] = {"include", "import",     "from",  "extends",   "block",
                                                       "do",      "autoescape", "trans", "pluralize", "print"};
    if (std::find(std::begin(unsupported), std::end(unsupported), tag) != std::end(unsupported)) {
      fail(fmt::format("the '{}' tag is not supported", tag));
    }
    fail(fmt::format("unknown tag '{}'", tag));
  }

  // `%}`, the body, and the whole `{% end_tag %}`.
  ast::Body parse_block_body(std::string_view end_tag) {
    expect_block_end();
    std::string found;
    ast::Body body = parse_body({end_tag}, &found);
    expect_block_end();
    return body;
  }

  ast::If parse_if() {
    ast::If node;
    std::string found = "elif";
    while (found == "elif") {
      ExprPtr condition = parse_tuple(false);
      expect_block_end();
      ast::Body body = parse_body({"elif", "else", "endif"}, &found);
      node.branches.emplace_back(std::move(condition), std::move(body));
    }
    if (found == "else") {
      expect_block_end();
      node.otherwise = parse_body({"endif"}, &found);
    }
    expect_block_end();
    return node;
  }

  ast::For parse_for() {
    ast::For node;
    node.target = parse_assign_target(false, "in");
    if (!skip_name("in")) fail(fmt::format("expected 'in', got {}", describe(current())));
    node.iterable = parse_tuple(false, "recursive");
    if (skip_name("if")) node.condition = parse_expression();
    if (at_name("recursive")) fail("recursive loops are not supported");
    expect_block_end();
    std::string found;
    ++loop_depth_;
    node.body = parse_body({"endfor", "else"}, &found);
    --loop_depth_;
    if (found == "else") {
      expect_block_end();
      node.otherwise = parse_body({"endfor"}, &found);
    }
    expect_block_end();
    return node;
  }

  void parse_set(ast::Body& body, int statement_line) {
    ast::Target target = parse_assign_target(true, {});
    if (skip_op("=")) {
      ExprPtr value = parse_tuple();
      expect_block_end();
      body.push_back(ast::Stmt{statement_line, ast::Set{std::move(target), std::move(value)}});
      return;
    }
    if (target.unpack || !target.attribute.empty()) fail("a block set assigns one name");
    ast::SetBlock block{target.names[0], at_op("|") ? parse_filter_chain(false) : std::vector<ast::FilterCall>{}, {}};
    block.body = parse_block_body("endset");
    body.push_back(ast::Stmt{statement_line, std::move(block)});
  }

  // Names to assign: `x`, `a, b` (unpacked), or with `with_namespace` `ns.attr`.
  ast::Target parse_assign_target(bool with_namespace, std::string_view end_name) {
    ast::Target target;
    if (with_namespace && at(TokenKind::name) && peek().kind == TokenKind::op && peek().value == ".") {
      target.names.push_back(advance().value);
      advance();
      target.attribute = expect_name();
      return target;
    }
    const bool parenthesized = skip_op("(");
    while (true) {
      target.names.push_back(expect_name());
      if (!skip_op(",")) break;
      target.unpack = true;
      if (at_op(")") || (!end_name.empty() && at_name(end_name)) || at_op("=")) break;
    }
    if (parenthesized) {
      expect_op(")");
      target.unpack = true;
    }
    static constexpr std::string_view constants[] = {"true", "false", "none", "True", "False", "None"};
    for (const std::string& name : target.names) {
      if (std::find(std::begin(constants), std::end(constants), name) != std::end(constants)) {
        fail(fmt::format("cannot assign to '{}'", name));
      }
    }
    return target;
  }

  std::vector<ast::Parameter> parse_signature() {
    std::vector<ast::Parameter> parameters;
    expect_op("(");
    while (!at_op(")")) {
      if (!parameters.empty()) expect_op(",");
      ast::Parameter parameter{expect_name(), nullptr};
      if (skip_op("=")) {
        parameter.fallback = parse_expression();
      } else if (!parameters.empty() && parameters.back().fallback) {
        fail("non-default argument follows default argument");
      }
      parameters.push_back(std::move(parameter));
    }
    expect_op(")");
    return parameters;
  }

  ast::Macro parse_macro() {
    ast::Macro node;
    node.name = expect_name();
    node.parameters = parse_signature();
    const int outer_loops = std::exchange(loop_depth_, 0);  // a loop around the definition is not the body's
    node.body = parse_block_body("endmacro");
    loop_depth_ = outer_loops;
    return node;
  }

  ast::CallBlock parse_call_block() {
    ast::CallBlock node;
    if (at_op("(")) node.caller_parameters = parse_signature();
    node.call = parse_expression();
    if (!std::holds_alternative<ast::Call>(node.call->node))
      fail("a call block needs a call, as in {% call name(...) %}");
    const int outer_loops = std::exchange(loop_depth_, 0);
    node.body = parse_block_body("endcall");
    loop_depth_ = outer_loops;
    return node;
  }

  ast::With parse_with() {
    ast::With node;
    while (!at(TokenKind::block_end)) {
      if (!node.assignments.empty()) expect_op(",");
      std::string name = expect_name();
      expect_op("=");
      node.assignments.emplace_back(std::move(name), parse_expression());
    }
    node.body = parse_block_body("endwith");
    return node;
  }

  // Expressions, from the loosest binding to the tightest, as Jinja2's parser.

  ExprPtr parse_expression(bool with_conditional = true) { return with_conditional ? parse_conditional() : parse_or(); }

  ExprPtr parse_conditional() {
    const Nesting nesting(*this);
    const int start = line();
    ExprPtr expr = parse_or();
    while (skip_name("if")) {
      ExprPtr condition = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_conditional() : nullptr;
      expr = make(start, ast::Conditional{std::move(condition), std::move(expr), std::move(otherwise)});
    }
    return expr;
  }

  ExprPtr parse_or() {
    const int start = line();
    ExprPtr left = parse_and();
    while (skip_name("or")) left = make(start, ast::Binary{ast::BinaryOp::logical_or, std::move(left), parse_and()});
    return left;
  }

  ExprPtr parse_and() {
    const int start = line();
    ExprPtr left = parse_not();
    while (skip_name("and")) left = make(start, ast::Binary{ast::BinaryOp::logical_and, std::move(left), parse_not()});
    return left;
  }

  ExprPtr parse_not() {
    const Nesting nesting(*this);
    const int start = line();
    if (skip_name("not")) return make(start, ast::Unary{ast::UnaryOp::logical_not, parse_not()});
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int start = line();
    ExprPtr first = parse_math1();
    std::vector<std::pair<ast::CompareOp, ExprPtr>> rest;
    static const std::pair<std::string_view, ast::CompareOp> operators[] = {
        {"==", ast::CompareOp::eq}, {"!=", ast::CompareOp::ne}, {"<", ast::CompareOp::lt},
        {"<=", ast::CompareOp::le}, {">", ast::CompareOp::gt},  {">=", ast::CompareOp::ge}};
    while (true) {
      std::optional<ast::CompareOp> op;
      for (const auto& [text, candidate] : operators) {
        if (at_op(text)) op = candidate;
      }
      if (op) {
        advance();
      } else if (skip_name("in")) {
        op = ast::CompareOp::in;
      } else if (at_name("not") && peek().kind == TokenKind::name && peek().value == "in") {
        advance();
        advance();
        op = ast::CompareOp::not_in;
      } else {
        break;
      }
      rest.emplace_back(*op, parse_math1());
    }
    if (rest.empty()) return first;
    return make(start, ast::Compare{std::move(first), std::move(rest)});
  }

  template <typename Next>
  ExprPtr parse_binary(std::initializer_list<std::pair<std::string_view, ast::BinaryOp>> operators, Next next) {
    const int start = line();
    ExprPtr left = (this->*next)();
    while (true) {
      const auto it = std::find_if(operators.begin(), operators.end(), [&](const auto& op) { return at_op(op.first); });
      if (it == operators.end()) return left;
      advance();
      left = make(start, ast::Binary{it->second, std::move(left), (this->*next)()});
    }
  }

  ExprPtr parse_math1() {
    return parse_binary({{"+", ast::BinaryOp::add}, {"-", ast::BinaryOp::subtract}}, &Parser::parse_concat);
  }
  ExprPtr parse_concat() { return parse_binary({{"~", ast::BinaryOp::concat}}, &Parser::parse_math2); }
  ExprPtr parse_math2() {
    return parse_binary({{"*", ast::BinaryOp::multiply},
                         {"/", ast::BinaryOp::divide},
                         {"//", ast::BinaryOp::floor_divide},
                         {"%", ast::BinaryOp::modulo}},
                        &Parser::parse_pow);
  }
  ExprPtr parse_pow() { return parse_binary({{"**", ast::BinaryOp::power}}, &Parser::parse_unary_with_filters); }
  ExprPtr parse_unary_with_filters() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filters) {
    const Nesting nesting(*this);
    const int start = line();
    ExprPtr node;
    if (skip_op("-")) {
      node = make(start, ast::Unary{ast::UnaryOp::negate, parse_unary(false)});
    } else if (skip_op("+")) {
      node = make(start, ast::Unary{ast::UnaryOp::plus, parse_unary(false)});
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    return with_filters ? parse_filter_expression(std::move(node)) : std::move(node);
  }

  ExprPtr parse_primary() {
    const int start = line();
    const Token& token = current();
    switch (token.kind) {
      case TokenKind::name: {
        const std::string& name = advance().value;
        if (name == "true" || name == "True") return make(start, ast::Literal{Value(true)});
        if (name == "false" || name == "False") return make(start, ast::Literal{Value(false)});
        if (name == "none" || name == "None") return make(start, ast::Literal{Value::none()});
        return make(start, ast::Name{name});
      }
      case TokenKind::string: {
        std::string text = advance().value;
        while (at(TokenKind::string)) text += advance().value;  // adjacent literals join, as in Python
        return make(start, ast::Literal{Value(std::move(text))});
      }
      case TokenKind::integer: return make(start, ast::Literal{Value(advance().integer)});
      case TokenKind::floating: return make(start, ast::Literal{Value(advance().number)});
      case TokenKind::op:
        if (skip_op("(")) {
          ExprPtr inner = parse_tuple(true, {}, true);
          expect_op(")");
          return inner;
        }
        if (at_op("[")) return parse_list();
        if (at_op("{")) return parse_dict();
        break;
      default: break;
    }
    fail(fmt::format("unexpected {}", describe(token)));
  }

  // Comma-separated expressions: a tuple when there is a comma (or `()`), else the one expression.
  ExprPtr parse_tuple(bool with_conditional = true, std::string_view end_name = {}, bool parenthesized = false) {
    const int start = line();
    std::vector<ExprPtr> items;
    bool tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      const bool end = at(TokenKind::variable_end) || at(TokenKind::block_end) || at_op(")") ||
                       (!end_name.empty() && at_name(end_name));
      if (end) break;
      items.push_back(parse_expression(with_conditional));
      if (!at_op(",")) break;
      tuple = true;
    }
    if (!tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!parenthesized) fail(fmt::format("expected an expression, got {}", describe(current())));
    }
    return make(start, ast::ListLiteral{std::move(items), true});
  }

  ExprPtr parse_list() {
    const int start = line();
    expect_op("[");
    std::vector<ExprPtr> items;
    while (!at_op("]")) {
      if (!items.empty()) expect_op(",");
      if (at_op("]")) break;
      items.push_back(parse_expression());
    }
    expect_op("]");
    return make(start, ast::ListLiteral{std::move(items), false});
  }

  ExprPtr parse_dict() {
    const int start = line();
    expect_op("{");
    std::vector<std::pair<ExprPtr, ExprPtr>> entries;
    while (!at_op("}")) {
      if (!entries.empty()) expect_op(",");
      if (at_op("}")) break;
      ExprPtr key = parse_expression();
      expect_op(":");
      entries.emplace_back(std::move(key), parse_expression());
    }
    expect_op("}");
    return make(start, ast::DictLiteral{std::move(entries)});
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (at_op(".") || at_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expression(ExprPtr node) {
    while (true) {
      if (at_op("|")) {
        for (ast::FilterCall& filter : parse_filter_chain(false)) {
          const int start = node->line;
          node = make(start, ast::Filter{std::move(node), std::move(filter)});
        }
      } else if (at_name("is")) {
        node = parse_test(std::move(node));
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const int start = line();
    if (skip_op(".")) {
      if (at(TokenKind::name)) return make(start, ast::Attribute{std::move(node), advance().value});
      if (at(TokenKind::integer)) {
        return make(start, ast::Subscript{std::move(node), make(start, ast::Literal{Value(advance().integer)})});
      }
      fail(fmt::format("expected a name or a number after '.', got {}", describe(current())));
    }
    expect_op("[");
    // [index] or [start:stop:step]
    ExprPtr first = at_op(":") ? nullptr : parse_expression();
    if (skip_op("]")) {
      if (!first) fail("expected an index");
      return make(start, ast::Subscript{std::move(node), std::move(first)});
    }
    if (at_op(",")) fail("subscripts with several indexes are not supported");
    expect_op(":");
    ast::Slice slice{std::move(node), std::move(first), nullptr, nullptr};
    if (!at_op(":") && !at_op("]")) slice.stop = parse_expression();
    if (skip_op(":") && !at_op("]")) slice.step = parse_expression();
    expect_op("]");
    return make(start, std::move(slice));
  }

  ast::CallArgs parse_call_args() {
    ast::CallArgs args;
    expect_op("(");
    while (!at_op(")")) {
      if (!args.positional.empty() || !args.keyword.empty()) {
        expect_op(",");
        if (at_op(")")) break;
      }
      if (at_op("*") || at_op("**")) fail("*args and **kwargs in calls are not supported");
      if (at(TokenKind::name) && peek().kind == TokenKind::op && peek().value == "=") {
        std::string name = advance().value;
        advance();
        args.keyword.emplace_back(std::move(name), parse_expression());
      } else {
        if (!args.keyword.empty()) fail("a positional argument follows a keyword argument");
        args.positional.push_back(parse_expression());
      }
    }
    expect_op(")");
    return args;
  }

  ExprPtr parse_call(ExprPtr callee) {
    const int start = line();
    return make(start, ast::Call{std::move(callee), parse_call_args()});
  }

  std::string parse_dotted_name() {
    std::string name = expect_name();
    while (skip_op(".")) {
      name += '.';
      name += expect_name();
    }
    return name;
  }

  // `| f(args) | g`, or with `inline_first` (a filter block) `f(args) | g`.
  std::vector<ast::FilterCall> parse_filter_chain(bool inline_first) {
    std::vector<ast::FilterCall> filters;
    while (inline_first || skip_op("|")) {
      inline_first = false;
      ast::FilterCall filter{parse_dotted_name(), {}};
      if (!has_filter(filter.name)) fail(fmt::format("no filter named '{}'", filter.name));
      if (at_op("(")) filter.args = parse_call_args();
      filters.push_back(std::move(filter));
    }
    return filters;
  }

  ExprPtr parse_test(ExprPtr node) {
    const int start = line();
    advance();  // is
    const bool negated = skip_name("not");
    ast::Test test{std::move(node), parse_dotted_name(), {}, negated};
    if (!has_test(test.name)) fail(fmt::format("no test named '{}'", test.name));
    if (at_op("(")) {
      test.args = parse_call_args();
    } else {
      // One argument without parentheses: `is divisibleby 3`, `is equalto 'x'`.
      const bool starts_argument = at(TokenKind::name) || at(TokenKind::string) || at(TokenKind::integer) ||
                                   at(TokenKind::floating) || at_op("[") || at_op("{");
      if (starts_argument && !at_name("else") && !at_name("or") && !at_name("and")) {
        if (at_name("is")) fail("tests cannot be chained with 'is'");
        test.args.positional.push_back(parse_postfix(parse_primary()));
      }
    }
    return make(start, std::move(test));
  }

  std::vector<Token> tokens_;
  const std::string& name_;
  size_t pos_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;  // loops around the current statement, for break/continue
};

}  // namespace

ast::Body parse_template(std::string_view source, const std::string& template_name) {
  return Parser(tokenize(source, template_name), template_name).parse_template();
}

}  // namespace rs::jinja
