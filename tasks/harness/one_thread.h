// One intra-op thread (LibTorch's and OpenBLAS's) for the lifetime of the object, so work
// shared through the cache (a trained classifier, a reference statistic) comes out the
// same whatever --threads the run that happens to build it asked for.
#ifndef GS_TASKS_HARNESS_ONE_THREAD_H_
#define GS_TASKS_HARNESS_ONE_THREAD_H_

#include <ATen/Parallel.h>

#include "tasks/harness/blas.h"

namespace gs::tasks {

class OneThread {
 public:
  OneThread() : torch_threads_(at::get_num_threads()), blas_threads_(BlasThreads()) {
    at::set_num_threads(1);
    if (blas_threads_ > 0) SetBlasThreads(1);
  }
  ~OneThread() {
    at::set_num_threads(torch_threads_);
    if (blas_threads_ > 0) SetBlasThreads(blas_threads_);
  }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int torch_threads_, blas_threads_;
};

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_ONE_THREAD_H_
