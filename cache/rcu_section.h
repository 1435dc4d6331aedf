// What cache/'s RCU structures share: the read-side section (with the thread's registration), deferred freeing,
// and the ThreadSanitizer hooks that make liburcu's ordering visible. Internal to cache/: includers are .cc files.
#pragma once

// The flavour: membarrier-based RCU needs no signals and lets threads register and leave at any time. A .cc that
// also uses liburcu's hash table includes <urcu/rculfhash.h> after this header, as liburcu requires.
#include <urcu/urcu-memb.h>

#include <type_traits>

namespace rs::cache::rcu {

// ThreadSanitizer cannot see a grace period (liburcu is uninstrumented): each read-side section releases a token
// as it ends and the reclaimer acquires it before freeing, which is exactly the order RCU guarantees.
void grace_period_ended_for_tsan();

// One read-side section; liburcu requires one around every hash-table operation, a writer's included. A thread's
// first section registers it with RCU (once, under liburcu's registry lock); it is unregistered when it exits.
class ReadSection {
 public:
  ReadSection();
  ~ReadSection();
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;
};

// Deletes `node` once no read-side section can still hold it, off the caller's thread; T keeps its rcu_head in a
// member named `reclaim`.
template <typename T>
void delete_after_grace_period(T* node) {
  static_assert(std::is_standard_layout_v<T>, "caa_container_of needs offsetof");
  urcu_memb_call_rcu(&node->reclaim, [](rcu_head* reclaim) {
    grace_period_ended_for_tsan();
    delete caa_container_of(reclaim, T, reclaim);
  });
}

}  // namespace rs::cache::rcu
