#pragma once
// Values of the Jinja interpreter, with the Python semantics a chat template
// expects: truthiness, ==, ordering, str() and repr(). Arrays and objects are
// shared and immutable (transformers renders in an immutable sandbox); only a
// namespace() can be changed, through `{% set ns.x = ... %}`.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace rs::jinja {

class Value;
class Object;
struct Args;
struct Function;
using Array = std::vector<Value>;

class Value {
 public:
  enum class Kind : uint8_t {
    undefined,
    none,
    boolean,
    integer,
    floating,
    string,
    array,
    object,
    namespace_,
    function
  };
  // The Python type an array stands for: a list, a tuple, or the generator that
  // filters such as map and select return (always true, no len(), no indexing).
  enum class Sequence : uint8_t { list, tuple, generator };

  Value() = default;  // undefined
  Value(bool b) : kind_(Kind::boolean), data_(b) {}
  Value(int i) : Value(int64_t(i)) {}
  Value(int64_t i) : kind_(Kind::integer), data_(i) {}
  Value(double d) : kind_(Kind::floating), data_(d) {}
  Value(std::string s);
  Value(std::string_view s) : Value(std::string(s)) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(Array items);
  Value(Object object);

  static Value none();
  // An undefined value; `hint` is the error its misuse raises ("'x' is undefined").
  static Value undefined(std::string hint);
  static Value tuple(Array items);
  static Value generator(Array items);
  static Value make_namespace(Object attributes);
  static Value function(std::string name, std::function<Value(const Args&)> call);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::undefined; }
  bool is_none() const { return kind_ == Kind::none; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_int() const { return kind_ == Kind::integer; }
  bool is_float() const { return kind_ == Kind::floating; }
  bool is_number() const { return is_bool() || is_int() || is_float(); }  // Python's bool is an int
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_tuple() const { return kind_ == Kind::array && sequence_ == Sequence::tuple; }
  bool is_generator() const { return kind_ == Kind::array && sequence_ == Sequence::generator; }
  Sequence sequence() const { return sequence_; }
  bool is_object() const { return kind_ == Kind::object; }
  bool is_namespace() const { return kind_ == Kind::namespace_; }
  bool is_function() const { return kind_ == Kind::function; }

  // Unchecked accessors: test the kind first.
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const { return is_bool() ? int64_t(as_bool()) : std::get<int64_t>(data_); }
  double as_double() const;  // any number
  const std::string& as_string() const { return *std::get<std::shared_ptr<const std::string>>(data_); }
  const Array& as_array() const { return *std::get<std::shared_ptr<const Array>>(data_); }
  const Object& as_object() const { return *std::get<std::shared_ptr<Object>>(data_); }  // object or namespace
  Object& namespace_attributes() const { return *std::get<std::shared_ptr<Object>>(data_); }
  const Function& as_function() const { return *std::get<std::shared_ptr<const Function>>(data_); }

  // Throws EvalError with the hint of an undefined value; returns *this otherwise.
  const Value& require_defined() const;
  const std::string& undefined_hint() const;

  bool truthy() const;
  std::string str() const;        // Python str(); what `{{ value }}` prints ("" for undefined)
  std::string repr() const;       // Python repr()
  std::string type_name() const;  // Python's type name: str, int, list, dict, NoneType...

 private:
  using Data = std::variant<std::monostate, bool, int64_t, double, std::shared_ptr<const std::string>,
                            std::shared_ptr<const Array>, std::shared_ptr<Object>, std::shared_ptr<const Function>>;
  Value(Kind kind, Data data) : kind_(kind), data_(std::move(data)) {}

  Kind kind_ = Kind::undefined;
  Sequence sequence_ = Sequence::list;
  Data data_;
};

// A dict with string keys in insertion order, as Python keeps them.
class Object {
 public:
  using Entry = std::pair<std::string, Value>;

  const Value* find(std::string_view key) const;
  // A new key goes last; an existing key keeps its place and takes the value (Python's d[k] = v).
  void set(std::string key, Value value);
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  static constexpr size_t npos = size_t(-1);
  size_t position(std::string_view key) const;  // of the entry, npos when absent

  static constexpr size_t kIndexFrom = 16;  // smaller objects (messages, loop) are scanned: no hash nodes to build
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t, KeyHash, std::equal_to<>> index_;  // key -> entry, from kIndexFrom keys
};

// The arguments of a call, as Python passes them.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

struct Function {
  std::string name;
  std::function<Value(const Args&)> call;
};

// Python's ==: 1 == 1.0 == True, lists and dicts compare by content, two undefined values are equal.
bool operator==(const Value& a, const Value& b);
// Python's ordering for numbers, strings and sequences: -1, 0 or 1, and 2 when
// unordered (NaN); EvalError for anything else, naming the operator `op`.
int compare(const Value& a, const Value& b, std::string_view op);

// How Jinja names a value in "has no attribute" errors: 'dict object', None.
std::string object_description(const Value& value);
// Python's repr() of a float: the shortest text that reads back the same double.
std::string format_float(double value);

}  // namespace rs::jinja
