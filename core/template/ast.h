#pragma once
// The syntax tree of a template: expressions and statements, each with the
// line it starts on (for error messages).
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/template/value.h"

namespace rs::jinja::ast {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using Body = std::vector<Stmt>;

struct CallArgs {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

struct FilterCall {
  std::string name;
  CallArgs args;
};

// Expressions.
struct Literal { Value value; };
struct Name { std::string name; };
struct ListLiteral { std::vector<ExprPtr> items; bool tuple = false; };
struct DictLiteral { std::vector<std::pair<ExprPtr, ExprPtr>> entries; };
struct Attribute { ExprPtr object; std::string name; };  // a.b: Python attribute first, then item
struct Subscript { ExprPtr object; ExprPtr index; };     // a[b], a.0: item first, then attribute
struct Slice { ExprPtr object, start, stop, step; };     // absent bounds are null
struct Call { ExprPtr callee; CallArgs args; };
struct Filter { ExprPtr operand; FilterCall filter; };
struct Test { ExprPtr operand; std::string name; CallArgs args; bool negated = false; };
enum class UnaryOp { logical_not, negate, plus };
struct Unary { UnaryOp op; ExprPtr operand; };
enum class BinaryOp { add, subtract, multiply, divide, floor_divide, modulo, power, concat, logical_and, logical_or };
struct Binary { BinaryOp op; ExprPtr left, right; };
enum class CompareOp { eq, ne, lt, le, gt, ge, in, not_in };
struct Compare { ExprPtr first; std::vector<std::pair<CompareOp, ExprPtr>> rest; };  // a < b < c chains
struct Conditional { ExprPtr condition, then, otherwise; };  // `otherwise` null: undefined

struct Expr {
  int line;
  std::variant<Literal, Name, ListLiteral, DictLiteral, Attribute, Subscript, Slice, Call, Filter, Test, Unary, Binary,
               Compare, Conditional>
      node;
};

// What a for loop or a set assigns to: names (unpacked when `unpack`), or one
// attribute of a namespace (`set ns.count = ...`).
struct Target {
  std::vector<std::string> names;
  bool unpack = false;
  std::string attribute;  // with names[0] the namespace
};

struct Parameter {
  std::string name;
  ExprPtr fallback;  // the default value, or null
};

// Statements.
struct Text { std::string text; };
struct Print { ExprPtr value; };
struct If { std::vector<std::pair<ExprPtr, Body>> branches; Body otherwise; };
struct For { Target target; ExprPtr iterable; ExprPtr condition; Body body; Body otherwise; };
struct Set { Target target; ExprPtr value; };
struct SetBlock { std::string name; std::vector<FilterCall> filters; Body body; };
struct Macro { std::string name; std::vector<Parameter> parameters; Body body; };
struct CallBlock { ExprPtr call; std::vector<Parameter> caller_parameters; Body body; };  // call: an ast::Call
struct FilterBlock { std::vector<FilterCall> filters; Body body; };
struct With { std::vector<std::pair<std::string, ExprPtr>> assignments; Body body; };
struct Break {};
struct Continue {};

struct Stmt {
  int line;
  std::variant<Text, Print, If, For, Set, SetBlock, Macro, CallBlock, FilterBlock, With, Break, Continue> node;
};

}  // namespace rs::jinja::ast
