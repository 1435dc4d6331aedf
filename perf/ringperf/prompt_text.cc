#include "perf/ringperf/prompt_text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

namespace rs::ringperf {
namespace {

// Common words of several lengths, so that both word- and byte-level tokenizers see ordinary text.
constexpr std::array<std::string_view, 128> kWords = {
    "the",    "of",      "and",         "to",      "in",        "is",      "that",       "for",    "it",     "as",
    "was",    "with",    "be",          "by",      "on",        "not",     "he",         "this",   "are",    "or",
    "his",    "from",    "at",          "which",   "but",       "have",    "an",         "had",    "they",   "you",
    "were",   "their",   "one",         "all",     "we",        "can",     "her",        "has",    "there",  "been",
    "if",     "more",    "when",        "will",    "would",     "who",     "so",         "no",     "time",   "people",
    "year",   "way",     "day",         "man",     "thing",     "woman",   "life",       "child",  "world",  "school",
    "state",  "family",  "student",     "group",   "country",   "problem", "hand",       "part",   "place",  "case",
    "week",   "company", "system",      "program", "question",  "work",    "government", "number", "night",  "point",
    "home",   "water",   "room",        "mother",  "area",      "money",   "story",      "fact",   "month",  "lot",
    "right",  "study",   "book",        "eye",     "job",       "word",    "business",   "issue",  "side",   "kind",
    "head",   "house",   "service",     "friend",  "father",    "power",   "hour",       "game",   "line",   "end",
    "member", "law",     "car",         "city",    "community", "name",    "president",  "team",   "minute", "idea",
    "kid",    "body",    "information", "back",    "parent",    "face",    "others",     "level",
};

}  // namespace

std::string PromptText::words(int words, Rng& rng) {
  std::string text;
  text.reserve(static_cast<size_t>(words) * 6);
  for (int i = 0; i < words; ++i) {
    if (i > 0) text += ' ';
    text += kWords[uniform_index(rng, kWords.size())];
  }
  return text;
}

std::string PromptText::make(int tokens, Rng& rng) const {
  return words(std::max(1, static_cast<int>(std::lround(tokens / tokens_per_word_))), rng);
}

}  // namespace rs::ringperf
