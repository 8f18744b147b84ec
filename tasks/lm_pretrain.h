// The lm_pretrain task as a library: its binary (//tasks:lm_pretrain) and the step
// benchmark build it from here.
#ifndef GS_TASKS_LM_PRETRAIN_H_
#define GS_TASKS_LM_PRETRAIN_H_

#include <memory>

#include "tasks/harness/trainer.h"

namespace gs::tasks {

std::unique_ptr<Task> NewLmPretrain();

}  // namespace gs::tasks

#endif  // GS_TASKS_LM_PRETRAIN_H_
