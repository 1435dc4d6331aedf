#include "core/template/evaluator.h"

#include <fmt/format.h>

#include <new>

#include "core/template/builtins.h"
#include "core/template/error.h"
#include "core/template/limits.h"
#include "core/template/operators.h"

namespace rs::jinja {
namespace {

// One scope: the template's top level, a loop iteration, a macro call, a with block.
class Frame {
 public:
  explicit Frame(const Frame* parent) : parent_(parent) {}

  const Value* find(std::string_view name) const {
    for (const Frame* frame = this; frame != nullptr; frame = frame->parent_) {
      for (const auto& [key, value] : frame->variables_) {
        if (key == name) return &value;
      }
    }
    return nullptr;
  }

  void set(std::string_view name, Value value) {
    for (auto& [key, existing] : variables_) {
      if (key == name) {
        existing = std::move(value);
        return;
      }
    }
    variables_.emplace_back(std::string(name), std::move(value));
  }

 private:
  const Frame* parent_;
  std::vector<std::pair<std::string, Value>> variables_;  // few per scope: a scan beats a hash
};

enum class Flow { normal, break_loop, continue_loop };

const Object& globals() {
  static const Object functions = global_functions();
  return functions;
}

class Renderer {
 public:
  Renderer(const std::string& template_name, const Object& variables, const limits::Budget& budget)
      : name_(template_name), variables_(variables), spending_(budget) {}

  // A template can make namespaces hold themselves (ns.self = ns), which shared ownership alone would leak; none
  // outlives the render, so what they hold is dropped.
  ~Renderer() {
    for (const Value& made : namespaces_) made.namespace_attributes() = Object();
  }
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  std::string run(const ast::Body& body) {
    std::string out;
    exec_body(body, root_, out);
    return out;
  }

 private:
  // Bounds the nesting of evaluation (and so the C++ stack) across expressions,
  // statements and macro calls.
  class Depth {
   public:
    explicit Depth(Renderer& renderer) : renderer_(renderer) {
      renderer_.spending_.step();
      if (++renderer_.depth_ > limits::max_depth) {
        --renderer_.depth_;
        throw EvalError(fmt::format("evaluation nests deeper than {} levels (recursion?)", limits::max_depth));
      }
    }
    ~Depth() { --renderer_.depth_; }
    Depth(const Depth&) = delete;
    Depth& operator=(const Depth&) = delete;

   private:
    Renderer& renderer_;
  };

  // Runs `body`, turning an error without a location into a TemplateError at `line`.
  template <typename Body>
  auto at_line(int line, Body body) {
    try {
      const Depth depth(*this);
      return body();
    } catch (const TemplateError&) {
      throw;
    } catch (const RaisedError& e) {
      throw TemplateError(name_, line, e.what(), true);
    } catch (const EvalError& e) {
      throw TemplateError(name_, line, e.what());
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      throw TemplateError(name_, line, e.what());
    }
  }

  void append(std::string& out, std::string_view text) const {
    limits::check_string_size(out.size() + text.size());
    out.append(text);
  }

  // Statements.

  Flow exec_body(const ast::Body& body, Frame& frame, std::string& out) {
    for (const ast::Stmt& stmt : body) {
      const Flow flow = at_line(
          stmt.line, [&] { return std::visit([&](const auto& node) { return exec(node, frame, out); }, stmt.node); });
      if (flow != Flow::normal) return flow;
    }
    return Flow::normal;
  }

  Flow exec(const ast::Text& node, Frame&, std::string& out) {
    append(out, node.text);
    return Flow::normal;
  }

  Flow exec(const ast::Print& node, Frame& frame, std::string& out) {
    append(out, eval(*node.value, frame).str());
    return Flow::normal;
  }

  Flow exec(const ast::If& node, Frame& frame, std::string& out) {
    for (const auto& [condition, body] : node.branches) {
      if (eval(*condition, frame).truthy()) return exec_body(body, frame, out);
    }
    return exec_body(node.otherwise, frame, out);
  }

  Flow exec(const ast::For& node, Frame& frame, std::string& out) {
    Array items = iterate(eval(*node.iterable, frame));
    if (node.condition) {
      Array kept;
      for (Value& item : items) {
        count_iteration();
        Frame scope(&frame);
        bind(node.target, item, scope);
        if (eval(*node.condition, scope).truthy()) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      Frame scope(&frame);
      return exec_body(node.otherwise, scope, out);  // a break there belongs to an outer loop
    }
    for (size_t i = 0; i < items.size(); ++i) {
      count_iteration();
      Frame scope(&frame);  // each iteration starts afresh, as in Jinja
      bind(node.target, items[i], scope);
      scope.set("loop", loop_object(items, i));
      if (exec_body(node.body, scope, out) == Flow::break_loop) break;
    }
    return Flow::normal;
  }

  Flow exec(const ast::Set& node, Frame& frame, std::string&) {
    Value value = eval(*node.value, frame);
    if (node.target.attribute.empty()) {
      bind(node.target, std::move(value), frame);
      return Flow::normal;
    }
    const Value holder = lookup(node.target.names[0], frame);
    if (!holder.is_namespace()) {
      throw EvalError(fmt::format("cannot assign attribute '{}' on {}: only a namespace() can be changed",
                                  node.target.attribute,
                                  holder.is_undefined() ? "an undefined value" : holder.type_name()));
    }
    holder.namespace_attributes().set(node.target.attribute, std::move(value));
    return Flow::normal;
  }

  Flow exec(const ast::SetBlock& node, Frame& frame, std::string&) {
    std::string text;
    exec_body(node.body, frame, text);
    frame.set(node.name, apply_filters(node.filters, Value(std::move(text)), frame));
    return Flow::normal;
  }

  Flow exec(const ast::Macro& node, Frame& frame, std::string&) {
    frame.set(node.name,
              Value::function(node.name, [this, &node](const Args& args) { return call_macro(node, args); }));
    return Flow::normal;
  }

  Flow exec(const ast::CallBlock& node, Frame& frame, std::string& out) {
    const auto& call = std::get<ast::Call>(node.call->node);
    // The caller renders the block's body in this scope; it must not outlive it.
    auto alive = std::make_shared<bool>(true);
    const Value caller = Value::function("caller", [this, &node, &frame, alive](const Args& args) {
      if (!*alive) throw EvalError("caller() was called after its call block ended");
      Frame scope(&frame);
      bind_parameters("caller", node.caller_parameters, args, scope);
      std::string text;
      exec_body(node.body, scope, text);
      return Value(std::move(text));
    });
    Args args = eval_args(call.args, frame);
    args.keyword.emplace_back("caller", caller);
    const Value result = call_value(eval(*call.callee, frame), args);
    *alive = false;
    append(out, result.str());
    return Flow::normal;
  }

  Flow exec(const ast::FilterBlock& node, Frame& frame, std::string& out) {
    std::string text;
    exec_body(node.body, frame, text);
    append(out, apply_filters(node.filters, Value(std::move(text)), frame).str());
    return Flow::normal;
  }

  Flow exec(const ast::With& node, Frame& frame, std::string& out) {
    Frame scope(&frame);
    for (const auto& [name, value] : node.assignments) scope.set(name, eval(*value, frame));
    return exec_body(node.body, scope, out);
  }

  Flow exec(const ast::Break&, Frame&, std::string&) { return Flow::break_loop; }
  Flow exec(const ast::Continue&, Frame&, std::string&) { return Flow::continue_loop; }

  void count_iteration() { spending_.step(); }

  void bind(const ast::Target& target, Value value, Frame& frame) {
    if (!target.unpack) {
      frame.set(target.names[0], std::move(value));
      return;
    }
    const Array items = iterate(value);
    if (items.size() != target.names.size()) {
      throw EvalError(
          items.size() < target.names.size()
              ? fmt::format("not enough values to unpack (expected {}, got {})", target.names.size(), items.size())
              : fmt::format("too many values to unpack (expected {})", target.names.size()));
    }
    for (size_t i = 0; i < items.size(); ++i) frame.set(target.names[i], items[i]);
  }

  static Value loop_object(const Array& items, size_t i) {
    const int64_t length = int64_t(items.size());
    const int64_t index = int64_t(i);
    Object loop;
    loop.set("index", index + 1);
    loop.set("index0", index);
    loop.set("revindex", length - index);
    loop.set("revindex0", length - index - 1);
    loop.set("first", index == 0);
    loop.set("last", index == length - 1);
    loop.set("length", length);
    loop.set("depth", 1);
    loop.set("depth0", 0);
    loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < items.size() ? items[i + 1] : Value::undefined("there is no next item"));
    loop.set("cycle", Value::function("loop.cycle", [i](const Args& args) {
               if (args.positional.empty()) throw EvalError("no items for cycling given");
               return args.positional[i % args.positional.size()];
             }));
    return Value(std::move(loop));
  }

  // Macros.

  Value call_macro(const ast::Macro& macro, const Args& args) {
    const Depth depth(*this);
    Frame scope(&root_);  // a macro sees the template's top level, not its caller's scope
    bind_parameters(macro.name, macro.parameters, args, scope);
    std::string text;
    exec_body(macro.body, scope, text);
    return Value(std::move(text));
  }

  void bind_parameters(const std::string& macro, const std::vector<ast::Parameter>& parameters, const Args& args,
                       Frame& scope) {
    if (args.positional.size() > parameters.size()) {
      throw EvalError(fmt::format("macro '{}' takes not more than {} argument(s)", macro, parameters.size()));
    }
    std::vector<const Value*> values(parameters.size(), nullptr);
    for (size_t i = 0; i < args.positional.size(); ++i) values[i] = &args.positional[i];
    for (const auto& [name, value] : args.keyword) {
      size_t i = 0;
      while (i < parameters.size() && parameters[i].name != name) ++i;
      if (i == parameters.size()) {
        if (name == "caller") {
          scope.set("caller", value);
          continue;
        }
        throw EvalError(fmt::format("macro '{}' has no argument '{}'", macro, name));
      }
      if (values[i] != nullptr)
        throw EvalError(fmt::format("macro '{}' got multiple values for argument '{}'", macro, name));
      values[i] = &value;
    }
    for (size_t i = 0; i < parameters.size(); ++i) {
      if (values[i] != nullptr) {
        scope.set(parameters[i].name, *values[i]);
      } else if (parameters[i].fallback) {
        scope.set(parameters[i].name, eval(*parameters[i].fallback, scope));
      } else {
        scope.set(parameters[i].name, Value::undefined(fmt::format("'{}' is undefined", parameters[i].name)));
      }
    }
  }

  // Expressions.

  Value eval(const ast::Expr& expr, Frame& frame) {
    return at_line(expr.line,
                   [&] { return std::visit([&](const auto& node) { return eval(node, frame); }, expr.node); });
  }

  Value lookup(const std::string& name, const Frame& frame) const {
    if (const Value* value = frame.find(name)) return *value;
    if (const Value* value = variables_.find(name)) return *value;
    if (name == "namespace") return make_namespace_;
    if (const Value* value = globals().find(name)) return *value;
    return Value::undefined(fmt::format("'{}' is undefined", name));
  }

  Value eval(const ast::Literal& node, Frame&) { return node.value; }
  Value eval(const ast::Name& node, Frame& frame) { return lookup(node.name, frame); }

  Value eval(const ast::ListLiteral& node, Frame& frame) {
    Array items;
    items.reserve(node.items.size());
    for (const ast::ExprPtr& item : node.items) items.push_back(eval(*item, frame));
    return node.tuple ? Value::tuple(std::move(items)) : Value(std::move(items));
  }

  Value eval(const ast::DictLiteral& node, Frame& frame) {
    Object object;
    for (const auto& [key_expr, value_expr] : node.entries) {
      const Value key = eval(*key_expr, frame);
      if (!key.is_string()) throw EvalError(fmt::format("dict keys must be strings here, not {}", key.type_name()));
      object.set(key.as_string(), eval(*value_expr, frame));
    }
    return Value(std::move(object));
  }

  Value eval(const ast::Attribute& node, Frame& frame) { return get_attribute(eval(*node.object, frame), node.name); }

  Value eval(const ast::Subscript& node, Frame& frame) {
    const Value object = eval(*node.object, frame);
    return get_item(object, eval(*node.index, frame));
  }

  Value eval(const ast::Slice& node, Frame& frame) {
    const Value object = eval(*node.object, frame);
    const auto bound = [&](const ast::ExprPtr& expr) { return expr ? eval(*expr, frame) : Value::none(); };
    const Value start = bound(node.start), stop = bound(node.stop), step = bound(node.step);
    return get_slice(object, start, stop, step);
  }

  Args eval_args(const ast::CallArgs& call_args, Frame& frame) {
    Args args;
    for (const ast::ExprPtr& arg : call_args.positional) args.positional.push_back(eval(*arg, frame));
    for (const auto& [name, arg] : call_args.keyword) args.keyword.emplace_back(name, eval(*arg, frame));
    return args;
  }

  static Value call_value(const Value& callee, const Args& args) {
    if (!callee.require_defined().is_function())
      throw EvalError(fmt::format("'{}' object is not callable", callee.type_name()));
    return callee.as_function().call(args);
  }

  Value eval(const ast::Call& node, Frame& frame) {
    const Value callee = eval(*node.callee, frame);
    return call_value(callee, eval_args(node.args, frame));
  }

  Value apply_filters(const std::vector<ast::FilterCall>& filters, Value value, Frame& frame) {
    for (const ast::FilterCall& filter : filters)
      value = apply_filter(filter.name, value, eval_args(filter.args, frame));
    return value;
  }

  Value eval(const ast::Filter& node, Frame& frame) {
    const Value input = eval(*node.operand, frame);
    return apply_filter(node.filter.name, input, eval_args(node.filter.args, frame));
  }

  Value eval(const ast::Test& node, Frame& frame) {
    const Value input = eval(*node.operand, frame);
    return apply_test(node.name, input, eval_args(node.args, frame)) != node.negated;
  }

  Value eval(const ast::Unary& node, Frame& frame) {
    const Value operand = eval(*node.operand, frame);
    switch (node.op) {
      case ast::UnaryOp::logical_not: return !operand.truthy();
      case ast::UnaryOp::negate: return ops::negate(operand);
      case ast::UnaryOp::plus: return ops::plus(operand);
    }
    return Value();
  }

  Value eval(const ast::Binary& node, Frame& frame) {
    Value left = eval(*node.left, frame);
    // `and` and `or` return an operand, as in Python, and skip the right one when they can.
    if (node.op == ast::BinaryOp::logical_and) return left.truthy() ? eval(*node.right, frame) : left;
    if (node.op == ast::BinaryOp::logical_or) return left.truthy() ? left : eval(*node.right, frame);
    const Value right = eval(*node.right, frame);
    switch (node.op) {
      case ast::BinaryOp::add: return ops::add(left, right);
      case ast::BinaryOp::subtract: return ops::subtract(left, right);
      case ast::BinaryOp::multiply: return ops::multiply(left, right);
      case ast::BinaryOp::divide: return ops::divide(left, right);
      case ast::BinaryOp::floor_divide: return ops::floor_divide(left, right);
      case ast::BinaryOp::modulo: return ops::modulo(left, right);
      case ast::BinaryOp::power: return ops::power(left, right);
      case ast::BinaryOp::concat: {
        std::string text = left.str();
        append(text, right.str());
        return Value(std::move(text));
      }
      default: return Value();
    }
  }

  static bool compare_values(ast::CompareOp op, const Value& left, const Value& right) {
    switch (op) {
      case ast::CompareOp::eq: return left == right;
      case ast::CompareOp::ne: return !(left == right);
      case ast::CompareOp::lt: return compare(left, right, "<") == -1;
      case ast::CompareOp::le: {
        const int r = compare(left, right, "<=");
        return r == -1 || r == 0;
      }
      case ast::CompareOp::gt: return compare(left, right, ">") == 1;
      case ast::CompareOp::ge: {
        const int r = compare(left, right, ">=");
        return r == 1 || r == 0;
      }
      case ast::CompareOp::in: return ops::contains(right, left);
      case ast::CompareOp::not_in: return !ops::contains(right, left);
    }
    return false;
  }

  Value eval(const ast::Compare& node, Frame& frame) {
    Value left = eval(*node.first, frame);
    for (const auto& [op, expr] : node.rest) {
      Value right = eval(*expr, frame);
      if (!compare_values(op, left, right)) return false;
      left = std::move(right);
    }
    return true;
  }

  Value eval(const ast::Conditional& node, Frame& frame) {
    if (eval(*node.condition, frame).truthy()) return eval(*node.then, frame);
    if (node.otherwise) return eval(*node.otherwise, frame);
    return Value::undefined("the inline if-expression evaluated to false and no else section was defined.");
  }

  const std::string& name_;
  const Object& variables_;
  Frame root_{nullptr};
  limits::Spending spending_;
  int depth_ = 0;
  std::vector<Value> namespaces_;  // made by this render
  // namespace() as the globals have it, keeping each namespace it makes for ~Renderer.
  const Value make_namespace_ = Value::function("namespace", [this](const Args& args) {
    namespaces_.push_back(call_value(*globals().find("namespace"), args));
    return namespaces_.back();
  });
};

}  // namespace

std::string render(const ast::Body& body, const std::string& template_name, const Object& variables,
                   const limits::Budget& budget) {
  return Renderer(template_name, variables, budget).run(body);
}

}  // namespace rs::jinja
