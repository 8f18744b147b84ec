// The vit_classification task as a library: its binary (//tasks:vit_classification) and the step
// benchmark build it from here.
#ifndef GS_TASKS_VIT_CLASSIFICATION_H_
#define GS_TASKS_VIT_CLASSIFICATION_H_

#include <memory>

#include "tasks/harness/trainer.h"

namespace gs::tasks {

std::unique_ptr<Task> NewVitClassification();

}  // namespace gs::tasks

#endif  // GS_TASKS_VIT_CLASSIFICATION_H_
