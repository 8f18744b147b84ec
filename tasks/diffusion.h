// The diffusion task as a library: its binary (//tasks:diffusion) builds it from here.
#ifndef GS_TASKS_DIFFUSION_H_
#define GS_TASKS_DIFFUSION_H_

#include <memory>

#include "tasks/harness/trainer.h"

namespace gs::tasks {

std::unique_ptr<Task> NewDiffusion();

}  // namespace gs::tasks

#endif  // GS_TASKS_DIFFUSION_H_
