#include "cache/rcu_section.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace rs::cache::rcu {
namespace {

#if defined(__SANITIZE_THREAD__)
char grace_period_token;
void section_ends_for_tsan() { __tsan_release(&grace_period_token); }
#else
void section_ends_for_tsan() {}
#endif

// Registers the thread it lives in with RCU, and unregisters it when the thread exits.
struct RcuThread {
  RcuThread() { urcu_memb_register_thread(); }
  ~RcuThread() { urcu_memb_unregister_thread(); }
};

}  // namespace

#if defined(__SANITIZE_THREAD__)
void grace_period_ended_for_tsan() { __tsan_acquire(&grace_period_token); }
#else
void grace_period_ended_for_tsan() {}
#endif

ReadSection::ReadSection() {
  thread_local RcuThread registration;  // the thread's first section registers it
  urcu_memb_read_lock();
}

ReadSection::~ReadSection() {
  section_ends_for_tsan();
  urcu_memb_read_unlock();
}

}  // namespace rs::cache::rcu

#if defined(__SANITIZE_THREAD__)
// cds_lfht hands its own allocations (resize jobs, bucket tables) between its threads unseen by TSan too.
extern "C" const char* __tsan_default_suppressions() { return "called_from_lib:liburcu-cds.so\n"; }
#endif
