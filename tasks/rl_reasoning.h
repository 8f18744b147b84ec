// The rl_reasoning task as a library: its binary (//tasks:rl_reasoning) builds it from
// here, as the other tasks do.
#ifndef GS_TASKS_RL_REASONING_H_
#define GS_TASKS_RL_REASONING_H_

#include <memory>

#include "tasks/harness/trainer.h"

namespace gs::tasks {

std::unique_ptr<Task> NewRlReasoning();

}  // namespace gs::tasks

#endif  // GS_TASKS_RL_REASONING_H_
