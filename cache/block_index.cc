#include "cache/block_index.h"

// The flavour: membarrier-based RCU needs no signals and lets threads register and leave at any time.
#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>  // after the flavour, as liburcu requires

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace rs::cache {
namespace {

static_assert(sizeof(unsigned long) == sizeof(uint64_t), "cds_lfht takes the chain hash as its unsigned long hash");

constexpr unsigned long kInitialBuckets = 1024;  // a power of two, as cds_lfht requires

// One entry. Nothing in it changes once it is in the table.
struct Node {
  cds_lfht_node link;
  rcu_head reclaim;
  uint32_t block = 0;
  // Stored last, with release, and loaded with acquire by matches(): this orders `block` for readers in C++'s own
  // terms, which ThreadSanitizer sees, rather than only through liburcu's barriers (inline asm, uninstrumented).
  std::atomic<uint64_t> hash{0};
};
static_assert(std::is_standard_layout_v<Node>, "caa_container_of needs offsetof");

// ThreadSanitizer cannot see a grace period either: each read-side section releases this token as it ends, and
// the reclaimer acquires it before freeing, which is exactly the order RCU guarantees.
#if defined(__SANITIZE_THREAD__)
char grace_period_token;
void section_ends_for_tsan() { __tsan_release(&grace_period_token); }
void grace_period_ended_for_tsan() { __tsan_acquire(&grace_period_token); }
#else
void section_ends_for_tsan() {}
void grace_period_ended_for_tsan() {}
#endif

// Registers the thread it lives in with RCU, and unregisters it when the thread exits.
struct RcuThread {
  RcuThread() { urcu_memb_register_thread(); }
  ~RcuThread() { urcu_memb_unregister_thread(); }
};

// One RCU read-side section; liburcu requires one around every table operation, the writer's included.
class ReadSection {
 public:
  ReadSection() {
    thread_local RcuThread registration;  // the thread's first section registers it
    urcu_memb_read_lock();
  }
  ~ReadSection() {
    section_ends_for_tsan();
    urcu_memb_read_unlock();
  }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;
};

int matches(cds_lfht_node* link, const void* hash) {
  const Node* node = caa_container_of(link, Node, link);
  return node->hash.load(std::memory_order_acquire) == *static_cast<const uint64_t*>(hash);
}

void free_node(rcu_head* reclaim) {
  grace_period_ended_for_tsan();
  delete caa_container_of(reclaim, Node, reclaim);
}

// Takes the entry out of the table; it is freed once no read-side section can still hold it.
void remove(cds_lfht* table, cds_lfht_node* link) {
  if (cds_lfht_del(table, link) != 0) throw std::logic_error("BlockIndex: an entry was erased by a second writer");
  urcu_memb_call_rcu(&caa_container_of(link, Node, link)->reclaim, free_node);
}

}  // namespace

#if defined(__SANITIZE_THREAD__)
// cds_lfht hands its own allocations (resize jobs, bucket tables) between its threads unseen by TSan too.
extern "C" const char* __tsan_default_suppressions() { return "called_from_lib:liburcu-cds.so\n"; }
#endif

BlockIndex::BlockIndex()
    : table_(cds_lfht_new_flavor(kInitialBuckets, kInitialBuckets, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
                                 &urcu_memb_flavor, nullptr)) {
  if (table_ == nullptr) throw std::bad_alloc();
}

BlockIndex::~BlockIndex() {
  {
    ReadSection section;
    cds_lfht_iter iter;
    cds_lfht_node* link;
    cds_lfht_for_each(table_, &iter, link) remove(table_, link);
  }
  cds_lfht_destroy(table_, nullptr);  // cannot fail: the table is empty
}

std::optional<uint32_t> BlockIndex::find(uint64_t hash) const {
  ReadSection section;
  cds_lfht_iter iter;
  cds_lfht_lookup(table_, hash, matches, &hash, &iter);
  cds_lfht_node* link = cds_lfht_iter_get_node(&iter);
  if (link == nullptr) return std::nullopt;
  return caa_container_of(link, Node, link)->block;
}

void BlockIndex::insert(uint64_t hash, uint32_t block) {
  auto* node = new Node;
  cds_lfht_node_init(&node->link);
  node->block = block;
  node->hash.store(hash, std::memory_order_release);  // last: publishes `block` to matches()
  ReadSection section;
  if (cds_lfht_add_unique(table_, hash, matches, &hash, &node->link) != &node->link) {
    delete node;  // never published, so no reader can hold it
    throw std::logic_error("BlockIndex::insert: hash " + std::to_string(hash) + " is already present");
  }
  size_.fetch_add(1, std::memory_order_relaxed);
}

void BlockIndex::erase(uint64_t hash) {
  ReadSection section;
  cds_lfht_iter iter;
  cds_lfht_lookup(table_, hash, matches, &hash, &iter);
  cds_lfht_node* link = cds_lfht_iter_get_node(&iter);
  if (link == nullptr) throw std::logic_error("BlockIndex::erase: hash " + std::to_string(hash) + " is absent");
  remove(table_, link);
  size_.fetch_sub(1, std::memory_order_relaxed);
}

size_t BlockIndex::size() const { return size_.load(std::memory_order_relaxed); }

}  // namespace rs::cache
