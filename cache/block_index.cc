#include "cache/block_index.h"

#include "cache/rcu_section.h"

#include <urcu/rculfhash.h>  // after the RCU flavour, as liburcu requires

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>

namespace rs::cache {
namespace {

static_assert(sizeof(unsigned long) == sizeof(uint64_t), "cds_lfht takes the chain hash as its unsigned long hash");

constexpr unsigned long kInitialBuckets = 1024;  // a power of two, as cds_lfht requires

// One entry. Nothing in it changes once it is in the table.
struct Node {
  cds_lfht_node link;
  rcu_head reclaim;
  uint32_t block = 0;
  // Stored last, with release, and loaded with acquire by hash_matches(): this orders `block` for readers in C++'s own
  // terms, which ThreadSanitizer sees, rather than only through liburcu's barriers (inline asm, uninstrumented).
  std::atomic<uint64_t> hash{0};
};

int hash_matches(cds_lfht_node* link, const void* hash) {
  const Node* node = caa_container_of(link, Node, link);
  return node->hash.load(std::memory_order_acquire) == *static_cast<const uint64_t*>(hash);
}

// Takes the entry out of the table; it is freed once no read-side section can still hold it.
void remove(cds_lfht* table, cds_lfht_node* link) {
  if (cds_lfht_del(table, link) != 0) throw std::logic_error("BlockIndex: an entry was erased by a second writer");
  rcu::delete_after_grace_period(caa_container_of(link, Node, link));
}

}  // namespace

BlockIndex::BlockIndex()
    : table_(cds_lfht_new_flavor(kInitialBuckets, kInitialBuckets, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
                                 &urcu_memb_flavor, nullptr)) {
  if (table_ == nullptr) throw std::bad_alloc();
}

BlockIndex::~BlockIndex() {
  {
    rcu::ReadSection section;
    cds_lfht_iter iter;
    cds_lfht_node* link;
    cds_lfht_for_each(table_, &iter, link) remove(table_, link);
  }
  cds_lfht_destroy(table_, nullptr);  // cannot fail: the table is empty
}

std::optional<uint32_t> BlockIndex::find(uint64_t hash) const {
  rcu::ReadSection section;
  cds_lfht_iter iter;
  cds_lfht_lookup(table_, hash, hash_matches, &hash, &iter);
  cds_lfht_node* link = cds_lfht_iter_get_node(&iter);
  if (link == nullptr) return std::nullopt;
  return caa_container_of(link, Node, link)->block;
}

void BlockIndex::insert(uint64_t hash, uint32_t block) {
  auto* node = new Node;
  cds_lfht_node_init(&node->link);
  node->block = block;
  node->hash.store(hash, std::memory_order_release);  // last: publishes `block` to hash_matches()
  rcu::ReadSection section;
  if (cds_lfht_add_unique(table_, hash, hash_matches, &hash, &node->link) != &node->link) {
    delete node;  // never published, so no reader can hold it
    throw std::logic_error("BlockIndex::insert: hash " + std::to_string(hash) + " is already present");
  }
  size_.fetch_add(1, std::memory_order_relaxed);
}

void BlockIndex::erase(uint64_t hash) {
  rcu::ReadSection section;
  cds_lfht_iter iter;
  cds_lfht_lookup(table_, hash, hash_matches, &hash, &iter);
  cds_lfht_node* link = cds_lfht_iter_get_node(&iter);
  if (link == nullptr) throw std::logic_error("BlockIndex::erase: hash " + std::to_string(hash) + " is absent");
  remove(table_, link);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

size_t BlockIndex::size() const { return size_.load(std::memory_order_relaxed); }

}  // namespace rs::cache
