#include "core/grammar/grammar.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace rs::grammar {
namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr CodePointRange kSurrogates{0xD800, 0xDFFF};

// Sorted, merged, within Unicode, surrogates removed.
std::vector<CodePointRange> normalize(std::span<const CodePointRange> ranges) {
  std::vector<CodePointRange> sorted;
  for (CodePointRange r : ranges) {
    if (r.first > r.last || r.first > kMaxCodePoint) continue;
    r.last = std::min(r.last, kMaxCodePoint);
    if (r.first < kSurrogates.first && r.last > kSurrogates.last) {  // spans them: two pieces
      sorted.push_back({r.first, kSurrogates.first - 1});
      sorted.push_back({kSurrogates.last + 1, r.last});
      continue;
    }
    if (r.first >= kSurrogates.first && r.first <= kSurrogates.last) r.first = kSurrogates.last + 1;
    if (r.last >= kSurrogates.first && r.last <= kSurrogates.last) r.last = kSurrogates.first - 1;
    if (r.first <= r.last) sorted.push_back(r);
  }
  std::sort(sorted.begin(), sorted.end(), [](CodePointRange a, CodePointRange b) { return a.first < b.first; });
  std::vector<CodePointRange> merged;
  for (const CodePointRange r : sorted) {
    if (!merged.empty() && r.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

size_t encoded_length(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

void encode(char32_t c, uint8_t* out) {
  switch (encoded_length(c)) {
    case 1: out[0] = uint8_t(c); break;
    case 2: out[0] = uint8_t(0xC0 | c >> 6), out[1] = uint8_t(0x80 | (c & 0x3F)); break;
    case 3:
      out[0] = uint8_t(0xE0 | c >> 12), out[1] = uint8_t(0x80 | (c >> 6 & 0x3F)), out[2] = uint8_t(0x80 | (c & 0x3F));
      break;
    default:
      out[0] = uint8_t(0xF0 | c >> 18), out[1] = uint8_t(0x80 | (c >> 12 & 0x3F));
      out[2] = uint8_t(0x80 | (c >> 6 & 0x3F)), out[3] = uint8_t(0x80 | (c & 0x3F));
  }
}

// A range of code points as sequences of byte ranges: each piece is a range
// whose encodings differ only where every byte in between is allowed (the
// utf8-ranges splitting used by RE2 and Rust's regex).
using BytePiece = std::vector<std::pair<uint8_t, uint8_t>>;

void split_utf8(char32_t first, char32_t last, std::vector<BytePiece>& out) {
  static constexpr char32_t kLengthEnds[] = {0x7F, 0x7FF, 0xFFFF};
  for (const char32_t end : kLengthEnds) {
    if (first <= end && last > end) {
      split_utf8(first, end, out);
      split_utf8(end + 1, last, out);
      return;
    }
  }
  const size_t length = encoded_length(first);
  for (size_t i = 1; i < length; ++i) {
    const char32_t mask = (char32_t(1) << (6 * i)) - 1;
    if ((first & ~mask) == (last & ~mask)) continue;
    if ((first & mask) != 0) {
      split_utf8(first, first | mask, out);
      split_utf8((first | mask) + 1, last, out);
      return;
    }
    if ((last & mask) != mask) {
      split_utf8(first, (last & ~mask) - 1, out);
      split_utf8(last & ~mask, last, out);
      return;
    }
  }
  uint8_t a[4], b[4];
  encode(first, a);
  encode(last, b);
  BytePiece piece;
  for (size_t i = 0; i < length; ++i) piece.emplace_back(a[i], b[i]);
  out.push_back(std::move(piece));
}

std::string byte_text(uint8_t b, bool in_class) {
  const bool plain = b >= 0x20 && b < 0x7F && b != '\\' && (in_class ? b != ']' && b != '-' && b != '^' : b != '"');
  if (plain) return std::string(1, char(b));
  switch (b) {
    case '\n': return "\\n";
    case '\t': return "\\t";
    case '\r': return "\\r";
    case '\\': return "\\\\";
    case '"': return "\\\"";
    case ']': return "\\]";
    case '-': return "\\-";
    case '^': return "\\^";
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "\\x%02X", b);
  return hex;
}

}  // namespace

ExprId Grammar::add(Expr expr) {
  exprs_.push_back(std::move(expr));
  return ExprId(exprs_.size() - 1);
}

ExprId Grammar::bytes(const ByteSet& set) {
  Expr e;
  e.kind = ExprKind::bytes;
  e.bytes = set;
  return add(std::move(e));
}

ExprId Grammar::byte(uint8_t b) { return byte_range(b, b); }

ExprId Grammar::byte_range(uint8_t first, uint8_t last) {
  ByteSet set;
  for (unsigned b = first; b <= last; ++b) set.set(b);
  return bytes(set);
}

ExprId Grammar::literal(std::string_view text) {
  std::vector<ExprId> items;
  for (const char c : text) items.push_back(byte(uint8_t(c)));
  return items.size() == 1 ? items[0] : sequence(std::move(items));
}

ExprId Grammar::sequence(std::vector<ExprId> items) {
  if (items.size() == 1) return items[0];
  return add(Expr{ExprKind::sequence, {}, std::move(items)});
}

ExprId Grammar::choice(std::vector<ExprId> items) {
  if (items.size() == 1) return items[0];
  return add(Expr{ExprKind::choice, {}, std::move(items)});
}

ExprId Grammar::repeat(ExprId item, uint32_t min, uint32_t max) {
  if (min > max) {
    throw GrammarError("a repetition's minimum " + std::to_string(min) + " is above its maximum " +
                       std::to_string(max));
  }
  if (min == 1 && max == 1) return item;
  return add(Expr{ExprKind::repeat, {}, {item}, min, max});
}

ExprId Grammar::code_points(std::span<const CodePointRange> ranges) {
  ByteSet ascii;
  std::vector<ExprId> alternatives;
  for (const CodePointRange r : normalize(ranges)) {
    std::vector<BytePiece> pieces;
    split_utf8(r.first, r.last, pieces);
    for (const BytePiece& piece : pieces) {
      if (piece.size() == 1) {
        for (unsigned b = piece[0].first; b <= piece[0].second; ++b) ascii.set(b);
        continue;
      }
      std::vector<ExprId> parts;
      for (const auto& [lo, hi] : piece) parts.push_back(byte_range(lo, hi));
      alternatives.push_back(sequence(std::move(parts)));
    }
  }
  if (ascii.any()) alternatives.insert(alternatives.begin(), bytes(ascii));
  return choice(std::move(alternatives));
}

ExprId Grammar::code_points_except(std::span<const CodePointRange> ranges) {
  std::vector<CodePointRange> complement;
  char32_t next = 0;
  for (const CodePointRange r : normalize(ranges)) {
    if (r.first > next) complement.push_back({next, r.first - 1});
    next = r.last + 1;
  }
  if (next <= kMaxCodePoint) complement.push_back({next, kMaxCodePoint});
  return code_points(complement);
}

ExprId Grammar::reference(RuleId rule) {
  Expr e;
  e.kind = ExprKind::rule;
  e.rule = rule;
  return add(std::move(e));
}

RuleId Grammar::declare(std::string_view name) {
  const auto [it, added] = rule_ids_.try_emplace(std::string(name), RuleId(rules_.size()));
  if (added) rules_.push_back(Rule{std::string(name), 0, false});
  return it->second;
}

void Grammar::define(RuleId rule, ExprId body) {
  Rule& r = rules_.at(rule);
  if (r.defined) throw GrammarError("rule '" + r.name + "' is defined twice");
  r.body = body;
  r.defined = true;
}

std::string Grammar::fresh_name(std::string_view base) const {
  std::string name(base);
  for (int i = 2; find(name) != kNoRule; ++i) name = std::string(base) + "-" + std::to_string(i);
  return name;
}

RuleId Grammar::find(std::string_view name) const {
  const auto it = rule_ids_.find(std::string(name));
  return it == rule_ids_.end() ? kNoRule : it->second;
}

void Grammar::check_complete() const {
  if (root_ == kNoRule) throw GrammarError("the grammar has no root rule");
  for (const Rule& r : rules_) {
    if (!r.defined) throw GrammarError("rule '" + r.name + "' is used but never defined");
  }
}

std::string Grammar::to_gbnf() const {
  std::string out;
  const auto print = [&](auto& self, ExprId id, bool nested) -> std::string {
    const Expr& e = exprs_[id];
    switch (e.kind) {
      case ExprKind::bytes: {
        if (e.bytes.count() == 1) {
          for (unsigned b = 0; b < 256; ++b) {
            if (e.bytes[b]) return "\"" + byte_text(uint8_t(b), false) + "\"";
          }
        }
        std::string text = "[";
        for (unsigned b = 0; b < 256; ++b) {
          if (!e.bytes[b]) continue;
          unsigned end = b;
          while (end + 1 < 256 && e.bytes[end + 1]) ++end;
          text += byte_text(uint8_t(b), true);
          if (end > b) text += "-" + byte_text(uint8_t(end), true);
          b = end;
        }
        return text + "]";
      }
      case ExprKind::sequence: {
        if (e.items.empty()) return "\"\"";
        std::string text;
        for (const ExprId item : e.items) text += (text.empty() ? "" : " ") + self(self, item, true);
        return nested ? "(" + text + ")" : text;
      }
      case ExprKind::choice: {
        if (e.items.empty()) return "[^\\x00-\\xFF]";  // an empty class: nothing
        std::string text;
        for (const ExprId item : e.items) text += (text.empty() ? "" : " | ") + self(self, item, false);
        return nested ? "(" + text + ")" : text;
      }
      case ExprKind::repeat: {
        const std::string item = self(self, e.items[0], true);
        if (e.min == 0 && e.max == 1) return item + "?";
        if (e.max == kUnbounded && e.min <= 1) return item + (e.min == 0 ? "*" : "+");
        if (e.max == kUnbounded) return item + "{" + std::to_string(e.min) + ",}";
        if (e.min == e.max) return item + "{" + std::to_string(e.min) + "}";
        return item + "{" + std::to_string(e.min) + "," + std::to_string(e.max) + "}";
      }
      case ExprKind::rule: return rules_[e.rule].name;
    }
    return "";
  };
  std::vector<RuleId> order;
  if (root_ != kNoRule) order.push_back(root_);
  for (RuleId i = 0; i < rules_.size(); ++i) {
    if (i != root_) order.push_back(i);
  }
  for (const RuleId i : order) {
    out += rules_[i].name + " ::= " + (rules_[i].defined ? print(print, rules_[i].body, false) : "?") + "\n";
  }
  return out;
}

bool matches(const Grammar& grammar, std::string_view text) {
  grammar.check_complete();
  // (expression, offset) → the offsets where a match starting there can end.
  std::map<std::pair<ExprId, size_t>, std::vector<size_t>> memo;
  std::map<std::pair<ExprId, size_t>, bool> busy;
  const auto ends = [&](auto& self, ExprId id, size_t at) -> std::vector<size_t> {
    const auto key = std::make_pair(id, at);
    if (const auto it = memo.find(key); it != memo.end()) return it->second;
    if (busy[key]) throw GrammarError("the grammar is left-recursive");
    busy[key] = true;
    const Expr& e = grammar.expr(id);
    std::vector<size_t> out;
    switch (e.kind) {
      case ExprKind::bytes:
        if (at < text.size() && e.bytes[uint8_t(text[at])]) out.push_back(at + 1);
        break;
      case ExprKind::sequence: {
        std::vector<size_t> current{at};
        for (const ExprId item : e.items) {
          std::vector<size_t> next;
          for (const size_t p : current) {
            for (const size_t q : self(self, item, p)) next.push_back(q);
          }
          std::sort(next.begin(), next.end());
          next.erase(std::unique(next.begin(), next.end()), next.end());
          current = std::move(next);
        }
        out = std::move(current);
        break;
      }
      case ExprKind::choice:
        for (const ExprId item : e.items) {
          for (const size_t q : self(self, item, at)) out.push_back(q);
        }
        break;
      case ExprKind::repeat: {
        std::vector<size_t> current{at};
        std::vector<bool> seen(text.size() + 1);
        if (e.min == 0) out.push_back(at);
        for (uint32_t count = 1; count <= e.max && !current.empty(); ++count) {
          std::vector<size_t> next;
          for (const size_t p : current) {
            for (const size_t q : self(self, e.items[0], p)) {
              // Past the minimum, an offset reached before adds nothing new (and ends empty loops).
              if (count > e.min && seen[q]) continue;
              if (count >= e.min) seen[q] = true;
              next.push_back(q);
            }
          }
          std::sort(next.begin(), next.end());
          next.erase(std::unique(next.begin(), next.end()), next.end());
          if (count >= e.min) out.insert(out.end(), next.begin(), next.end());
          current = std::move(next);
        }
        break;
      }
      case ExprKind::rule: out = self(self, grammar.rule(e.rule).body, at); break;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    busy[key] = false;
    memo[key] = out;
    return out;
  };
  const std::vector<size_t> found = ends(ends, grammar.rule(grammar.root()).body, 0);
  return std::find(found.begin(), found.end(), text.size()) != found.end();
}

}  // namespace rs::grammar
