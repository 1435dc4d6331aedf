// The semantic cache's store, one thread at a time: exact and similar hits and what must never hit, the sketch
// filter's radius, expiry, eviction by recency and by bytes, refusals, duplicates and the counters.
#include "cache/semantic_store.h"

#include "tests/cache/unit_vectors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace rs::cache {
namespace {

using testing::at_cosine;
using testing::cosine_of;
using testing::random_unit;

constexpr uint32_t kStoreDims = 64;

SemanticStoreOptions small_options() {
  return {.dims = kStoreDims, .capacity = 64, .max_bytes = 1 << 20, .ttl_seconds = 0, .threshold = 0.95f};
}

SemanticAnswer answer_named(const std::string& name) { return {.text = "answer " + name, .finish_reason = "stop"}; }

std::optional<std::string> exact_text(const SemanticStore& store, const SemanticKey& key, int64_t now_ms) {
  const std::optional<SemanticHit> hit = store.find_exact(key, now_ms);
  if (!hit) return std::nullopt;
  return hit->answer.text;
}

TEST(SemanticStore, ExactHitReturnsTheStoredAnswerByteForByte) {
  SemanticStore store(small_options());
  std::mt19937_64 random(1);
  SemanticAnswer answer;
  answer.text = std::string("zero \0 byte, UTF-8 \xC3\xA9\xE2\x82\xAC, newline\n", 40);
  for (int i = 0; i < 4096; ++i) answer.text += static_cast<char>(random());  // every byte value, past any SSO
  answer.finish_reason = "length";
  answer.completion_tokens = 1234;
  const SemanticKey key{.context = 1, .exact = 2, .guard = 3};
  ASSERT_TRUE(store.insert(key, random_unit(random, kStoreDims), answer, 0));

  const std::optional<SemanticHit> hit = store.find_exact(key, 1);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->answer.text, answer.text);
  EXPECT_EQ(hit->answer.finish_reason, "length");
  EXPECT_EQ(hit->answer.completion_tokens, 1234u);
  EXPECT_EQ(hit->similarity, 1.0f);
}

TEST(SemanticStore, ExactNeedsTheSameContextMessageAndGuard) {
  SemanticStore store(small_options());
  std::mt19937_64 random(2);
  ASSERT_TRUE(store.insert({1, 2, 3}, random_unit(random, kStoreDims), answer_named("a"), 0));
  EXPECT_EQ(exact_text(store, {1, 2, 3}, 0), "answer a");
  EXPECT_EQ(exact_text(store, {9, 2, 3}, 0), std::nullopt);
  EXPECT_EQ(exact_text(store, {1, 9, 3}, 0), std::nullopt);
  EXPECT_EQ(exact_text(store, {1, 2, 9}, 0), std::nullopt);
}

TEST(SemanticStore, AnotherContextNeverHitsEvenWithTheSameVector) {
  SemanticStore store(small_options());
  std::mt19937_64 random(3);
  const std::vector<float> vector = random_unit(random, kStoreDims);
  ASSERT_TRUE(store.insert({.context = 1, .exact = 2, .guard = 0}, vector, answer_named("a"), 0));
  EXPECT_TRUE(store.find_similar({.context = 1, .exact = 7, .guard = 0}, vector, 0));
  EXPECT_FALSE(store.find_similar({.context = 2, .exact = 7, .guard = 0}, vector, 0));
  EXPECT_FALSE(store.find_similar({.context = 2, .exact = 2, .guard = 0}, vector, 0));
}

TEST(SemanticStore, AnotherGuardNeverHitsSemantically) {
  SemanticStore store(small_options());
  std::mt19937_64 random(4);
  const std::vector<float> vector = random_unit(random, kStoreDims);
  // "Refund order 1234" against "Refund order 1235": the same embedding all but, different numbers.
  ASSERT_TRUE(store.insert({.context = 1, .exact = 2, .guard = 1234}, vector, answer_named("a"), 0));
  EXPECT_FALSE(store.find_similar({.context = 1, .exact = 3, .guard = 1235}, vector, 0));
  EXPECT_TRUE(store.find_similar({.context = 1, .exact = 3, .guard = 1234}, vector, 0));
}

TEST(SemanticStore, SimilarityBelowTheThresholdMissesAndAboveItHits) {
  SemanticStore store(small_options());
  std::mt19937_64 random(5);
  const std::vector<float> stored = random_unit(random, kStoreDims);
  ASSERT_TRUE(store.insert({1, 2, 0}, stored, answer_named("a"), 0));

  const std::vector<float> below = at_cosine(stored, 0.94, random);
  EXPECT_FALSE(store.find_similar({1, 3, 0}, below, 0));
  const std::vector<float> above = at_cosine(stored, 0.96, random);
  const std::optional<SemanticHit> hit = store.find_similar({1, 3, 0}, above, 0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->answer.text, "answer a");
  EXPECT_NEAR(hit->similarity, cosine_of(stored, above), 1e-5);
  EXPECT_NEAR(hit->similarity, 0.96, 1e-5);
}

TEST(SemanticStore, SimilarHitIsTheMostSimilarOfSeveral) {
  SemanticStore store(small_options());
  std::mt19937_64 random(6);
  const std::vector<float> query = random_unit(random, kStoreDims);
  ASSERT_TRUE(store.insert({1, 10, 0}, at_cosine(query, 0.96, random), answer_named("0.96"), 0));
  ASSERT_TRUE(store.insert({1, 11, 0}, at_cosine(query, 0.99, random), answer_named("0.99"), 0));
  ASSERT_TRUE(store.insert({1, 12, 0}, at_cosine(query, 0.97, random), answer_named("0.97"), 0));
  ASSERT_TRUE(store.insert({1, 13, 5}, at_cosine(query, 0.999, random), answer_named("other guard"), 0));
  ASSERT_TRUE(store.insert({2, 14, 0}, at_cosine(query, 0.999, random), answer_named("other context"), 0));

  const std::optional<SemanticHit> hit = store.find_similar({1, 20, 0}, query, 0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->answer.text, "answer 0.99");
  EXPECT_NEAR(hit->similarity, 0.99, 1e-5);
}

// The sketch filter must let through every vector at the threshold or above: a true hit escapes it with
// probability below 1e-9, so 2,000 pairs just above the threshold must all be found, each its own sole candidate.
TEST(SemanticStore, FindsEveryVectorJustAboveTheThreshold) {
  constexpr uint32_t kTrials = 2000;
  constexpr uint32_t kEmbeddingDims = 384;
  SemanticStore store({.dims = kEmbeddingDims, .capacity = kTrials, .max_bytes = 1ull << 30, .threshold = 0.95f});
  std::mt19937_64 random(7);
  uint32_t found = 0;
  for (uint32_t trial = 0; trial < kTrials; ++trial) {
    const std::vector<float> stored = random_unit(random, kEmbeddingDims);
    const std::vector<float> query = at_cosine(stored, 0.951, random);
    ASSERT_TRUE(store.insert({.context = trial, .exact = 0, .guard = 0}, stored, answer_named("a"), 0));
    const std::optional<SemanticHit> hit = store.find_similar({.context = trial, .exact = 1, .guard = 0}, query, 0);
    if (hit) {
      ++found;
      EXPECT_NEAR(hit->similarity, 0.951, 1e-5);
    }
  }
  EXPECT_EQ(found, kTrials);
  EXPECT_EQ(store.counters().similar_candidates, kTrials);
}

// ... and keep unrelated vectors of the same scope from exact verification, or the scan would cost a dot product a
// slot.
TEST(SemanticStore, SketchFilterKeepsUnrelatedVectorsFromVerification) {
  constexpr uint32_t kEntries = 1000;
  SemanticStore store({.dims = kStoreDims, .capacity = kEntries, .max_bytes = 1ull << 30, .threshold = 0.95f});
  std::mt19937_64 random(8);
  for (uint32_t i = 0; i < kEntries; ++i) ASSERT_TRUE(store.insert({1, i, 0}, random_unit(random, kStoreDims), {}, 0));
  for (int query = 0; query < 10; ++query) EXPECT_FALSE(store.find_similar({1, 0, 0}, random_unit(random, kStoreDims), 0));
  EXPECT_EQ(store.counters().similar_candidates, 0u);
}

TEST(SemanticStore, ExpiredEntriesAreNeverReturnedAndAreReclaimedOnInsert) {
  SemanticStoreOptions options = small_options();
  options.ttl_seconds = 10;
  SemanticStore store(options);
  std::mt19937_64 random(9);
  const std::vector<float> vector = random_unit(random, kStoreDims);
  ASSERT_TRUE(store.insert({1, 2, 0}, vector, answer_named("a"), 1'000));

  EXPECT_TRUE(store.find_exact({1, 2, 0}, 10'999));
  EXPECT_TRUE(store.find_similar({1, 3, 0}, vector, 10'999));
  EXPECT_FALSE(store.find_exact({1, 2, 0}, 11'000));
  EXPECT_FALSE(store.find_similar({1, 3, 0}, vector, 11'000));
  EXPECT_EQ(store.counters().entries, 1u) << "lookups do not reclaim";

  ASSERT_TRUE(store.insert({1, 4, 0}, random_unit(random, kStoreDims), answer_named("b"), 11'000));
  const SemanticStoreCounters counters = store.counters();
  EXPECT_EQ(counters.entries, 1u);
  EXPECT_EQ(counters.evicted_expired, 1u);
  EXPECT_EQ(counters.bytes, store.bytes_of(answer_named("b")));
  EXPECT_EQ(exact_text(store, {1, 4, 0}, 11'000), "answer b");
}

TEST(SemanticStore, ExpiredEntriesGoBeforeTheLeastRecentlyHit) {
  SemanticStoreOptions options = small_options();
  options.capacity = 2;
  options.ttl_seconds = 10;
  SemanticStore store(options);
  std::mt19937_64 random(10);
  ASSERT_TRUE(store.insert({1, 1, 0}, random_unit(random, kStoreDims), answer_named("a"), 0));
  ASSERT_TRUE(store.insert({1, 2, 0}, random_unit(random, kStoreDims), answer_named("b"), 5'000));
  ASSERT_TRUE(store.find_exact({1, 1, 0}, 9'000));  // a is the more recently hit, but expires first

  ASSERT_TRUE(store.insert({1, 3, 0}, random_unit(random, kStoreDims), answer_named("c"), 10'000));
  EXPECT_EQ(store.counters().evicted_expired, 1u);
  EXPECT_EQ(store.counters().evicted_for_capacity, 0u);
  EXPECT_EQ(exact_text(store, {1, 1, 0}, 10'000), std::nullopt);
  EXPECT_EQ(exact_text(store, {1, 2, 0}, 10'000), "answer b");
  EXPECT_EQ(exact_text(store, {1, 3, 0}, 10'000), "answer c");
}

TEST(SemanticStore, FullStoreEvictsTheLeastRecentlyHit) {
  SemanticStoreOptions options = small_options();
  options.capacity = 3;
  SemanticStore store(options);
  std::mt19937_64 random(11);
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 5; ++i) vectors.push_back(random_unit(random, kStoreDims));
  ASSERT_TRUE(store.insert({1, 'a', 0}, vectors[0], answer_named("a"), 1));
  ASSERT_TRUE(store.insert({1, 'b', 0}, vectors[1], answer_named("b"), 2));
  ASSERT_TRUE(store.insert({1, 'c', 0}, vectors[2], answer_named("c"), 3));
  ASSERT_TRUE(store.find_exact({1, 'a', 0}, 4));  // a: hit at 4; b and c never hit, so at their inserts, 2 and 3

  ASSERT_TRUE(store.insert({1, 'd', 0}, vectors[3], answer_named("d"), 5));
  EXPECT_FALSE(store.find_exact({1, 'b', 0}, 5)) << "b, inserted at 2 and never hit, was the least recent";
  ASSERT_TRUE(store.find_similar({1, 'x', 0}, vectors[2], 6));  // c: hit at 6, by similarity this time

  ASSERT_TRUE(store.insert({1, 'e', 0}, vectors[4], answer_named("e"), 7));  // a (4) goes before d (5) and c (6)
  EXPECT_EQ(exact_text(store, {1, 'a', 0}, 8), std::nullopt);
  EXPECT_EQ(exact_text(store, {1, 'c', 0}, 8), "answer c");
  EXPECT_EQ(exact_text(store, {1, 'd', 0}, 8), "answer d");
  EXPECT_EQ(exact_text(store, {1, 'e', 0}, 8), "answer e");
  EXPECT_EQ(store.counters().evicted_for_capacity, 2u);
  EXPECT_EQ(store.counters().entries, 3u);
}

TEST(SemanticStore, ReusedSlotsAnswerOnlyForTheirNewEntry) {
  SemanticStoreOptions options = small_options();
  options.capacity = 4;
  SemanticStore store(options);
  std::mt19937_64 random(12);
  std::vector<std::vector<float>> vectors;
  for (uint32_t i = 0; i < 100; ++i) {
    vectors.push_back(random_unit(random, kStoreDims));
    ASSERT_TRUE(store.insert({1, i, 0}, vectors[i], answer_named(std::to_string(i)), i));
  }
  for (uint32_t i = 0; i < 100; ++i) {
    const bool kept = i >= 96;
    EXPECT_EQ(exact_text(store, {1, i, 0}, 100), kept ? std::optional("answer " + std::to_string(i)) : std::nullopt);
    const std::optional<SemanticHit> similar = store.find_similar({1, 1000, 0}, vectors[i], 100);
    ASSERT_EQ(similar.has_value(), kept) << i;
    if (kept) {
      EXPECT_EQ(similar->answer.text, "answer " + std::to_string(i));
    }
  }
  EXPECT_EQ(store.counters().evicted_for_capacity, 96u);
}

TEST(SemanticStore, ByteBoundEvictsUntilTheNewEntryFits) {
  SemanticStoreOptions options = small_options();
  const SemanticStore probe(options);
  const uint64_t one = probe.bytes_of(answer_named("a"));
  options.max_bytes = 4 * one;
  SemanticStore store(options);
  std::mt19937_64 random(13);
  ASSERT_TRUE(store.insert({1, 'a', 0}, random_unit(random, kStoreDims), answer_named("a"), 1));
  ASSERT_TRUE(store.insert({1, 'b', 0}, random_unit(random, kStoreDims), answer_named("b"), 2));
  ASSERT_TRUE(store.insert({1, 'c', 0}, random_unit(random, kStoreDims), answer_named("c"), 3));
  EXPECT_EQ(store.counters().bytes, 3 * one);

  SemanticAnswer twice = answer_named("d");
  twice.text.append(one, 'x');  // counts two entries' bytes
  ASSERT_EQ(store.bytes_of(twice), 2 * one);
  ASSERT_TRUE(store.insert({1, 'd', 0}, random_unit(random, kStoreDims), twice, 4));  // one eviction makes room
  EXPECT_EQ(store.counters().bytes, 4 * one);
  EXPECT_EQ(store.counters().evicted_for_bytes, 1u);
  EXPECT_EQ(exact_text(store, {1, 'a', 0}, 5), std::nullopt);

  SemanticAnswer thrice = answer_named("e");
  thrice.text.append(2 * one, 'x');
  ASSERT_TRUE(store.insert({1, 'e', 0}, random_unit(random, kStoreDims), thrice, 6));  // b, c and d go: 3 + 2 > 4
  EXPECT_EQ(store.counters().bytes, 3 * one);
  EXPECT_EQ(store.counters().entries, 1u);
  EXPECT_EQ(store.counters().evicted_for_bytes, 4u);
}

TEST(SemanticStore, AnswerLargerThanMaxBytesAloneIsRefused) {
  SemanticStoreOptions options = small_options();
  options.max_bytes = 64 << 10;
  SemanticStore store(options);
  std::mt19937_64 random(14);
  ASSERT_TRUE(store.insert({1, 1, 0}, random_unit(random, kStoreDims), answer_named("small"), 0));

  SemanticAnswer largest;
  largest.text.assign(options.max_bytes - store.bytes_of({}), 'x');
  ASSERT_EQ(store.bytes_of(largest), options.max_bytes);
  SemanticAnswer too_large = largest;
  too_large.text += 'x';

  EXPECT_FALSE(store.insert({1, 2, 0}, random_unit(random, kStoreDims), too_large, 0));
  EXPECT_EQ(store.counters().refused_too_large, 1u);
  EXPECT_EQ(exact_text(store, {1, 1, 0}, 0), "answer small") << "a refused insert evicts nothing";
  EXPECT_TRUE(store.insert({1, 3, 0}, random_unit(random, kStoreDims), largest, 0));  // fits exactly, alone
  EXPECT_EQ(store.counters().entries, 1u);
}

TEST(SemanticStore, DuplicateKeepsThePresentEntry) {
  SemanticStore store(small_options());
  std::mt19937_64 random(15);
  ASSERT_TRUE(store.insert({1, 2, 3}, random_unit(random, kStoreDims), answer_named("first"), 0));
  EXPECT_FALSE(store.insert({1, 2, 3}, random_unit(random, kStoreDims), answer_named("second"), 1));
  EXPECT_FALSE(store.insert({1, 2, 4}, random_unit(random, kStoreDims), answer_named("third"), 2))
      << "the same (context, exact)";
  EXPECT_EQ(exact_text(store, {1, 2, 3}, 3), "answer first");
  const SemanticStoreCounters counters = store.counters();
  EXPECT_EQ(counters.entries, 1u);
  EXPECT_EQ(counters.inserts, 1u);
  EXPECT_EQ(counters.duplicates, 2u);
}

TEST(SemanticStore, ExpiredDuplicateIsReplaced) {
  SemanticStoreOptions options = small_options();
  options.ttl_seconds = 1;
  SemanticStore store(options);
  std::mt19937_64 random(16);
  ASSERT_TRUE(store.insert({1, 2, 3}, random_unit(random, kStoreDims), answer_named("first"), 0));
  EXPECT_TRUE(store.insert({1, 2, 3}, random_unit(random, kStoreDims), answer_named("second"), 1'000));
  EXPECT_EQ(exact_text(store, {1, 2, 3}, 1'000), "answer second");
  EXPECT_EQ(store.counters().entries, 1u);
}

TEST(SemanticStore, CountersAddUp) {
  SemanticStore store(small_options());
  std::mt19937_64 random(17);
  const std::vector<float> vector = random_unit(random, kStoreDims);
  ASSERT_TRUE(store.insert({1, 2, 0}, vector, answer_named("a"), 0));
  ASSERT_TRUE(store.insert({1, 3, 0}, random_unit(random, kStoreDims), answer_named("bb"), 0));
  store.find_exact({1, 2, 0}, 0);
  store.find_exact({1, 9, 0}, 0);
  store.find_similar({1, 9, 0}, vector, 0);
  store.find_similar({1, 9, 0}, random_unit(random, kStoreDims), 0);
  store.find_similar({1, 9, 0}, random_unit(random, kStoreDims), 0);

  const SemanticStoreCounters counters = store.counters();
  EXPECT_EQ(counters.entries, 2u);
  EXPECT_EQ(counters.bytes, store.bytes_of(answer_named("a")) + store.bytes_of(answer_named("bb")));
  EXPECT_EQ(store.bytes_of(answer_named("bb")) - store.bytes_of(answer_named("a")), 1u);
  EXPECT_EQ(counters.inserts, 2u);
  EXPECT_EQ(counters.exact_lookups, 2u);
  EXPECT_EQ(counters.exact_hits, 1u);
  EXPECT_EQ(counters.similar_lookups, 3u);
  EXPECT_EQ(counters.similar_hits, 1u);
  EXPECT_EQ(counters.similar_candidates, 1u);
}

TEST(SemanticStore, ThreadsThatComeAndGoCanRead) {
  SemanticStore store(small_options());
  std::mt19937_64 random(18);
  const std::vector<float> vector = random_unit(random, kStoreDims);
  ASSERT_TRUE(store.insert({1, 2, 0}, vector, answer_named("a"), 0));
  for (int i = 0; i < 20; ++i) {  // each registers with RCU on its first lookup and unregisters as it exits
    bool exact = false, similar = false;
    std::thread([&] {
      exact = store.find_exact({1, 2, 0}, 0).has_value();
      similar = store.find_similar({1, 3, 0}, vector, 0).has_value();
    }).join();
    ASSERT_TRUE(exact && similar) << i;
  }
}

TEST(SemanticStore, RefusesBadOptionsAndVectorsOfTheWrongLength) {
  const auto with = [](auto change) {
    SemanticStoreOptions options = small_options();
    change(options);
    return options;
  };
  EXPECT_THROW(SemanticStore(with([](auto& o) { o.dims = 0; })), std::invalid_argument);
  EXPECT_THROW(SemanticStore(with([](auto& o) { o.capacity = 0; })), std::invalid_argument);
  EXPECT_THROW(SemanticStore(with([](auto& o) { o.threshold = 0; })), std::invalid_argument);
  EXPECT_THROW(SemanticStore(with([](auto& o) { o.threshold = 1.01f; })), std::invalid_argument);
  EXPECT_THROW(SemanticStore(with([](auto& o) { o.threshold = std::numeric_limits<float>::quiet_NaN(); })),
               std::invalid_argument);

  SemanticStore store(small_options());
  const std::vector<float> short_vector(kStoreDims - 1, 0.1f);
  EXPECT_THROW(store.insert({1, 2, 0}, short_vector, {}, 0), std::invalid_argument);
  EXPECT_THROW(store.find_similar({1, 2, 0}, short_vector, 0), std::invalid_argument);
  EXPECT_EQ(store.counters().entries, 0u);
}

}  // namespace
}  // namespace rs::cache
