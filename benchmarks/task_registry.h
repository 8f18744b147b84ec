// The tasks the benchmarks build in-process, by name (their //tasks:<name>). Adding a task
// is one line in task_registry.cc (and its library in TASK_LIBRARIES in BUILD).
#ifndef GS_BENCHMARKS_TASK_REGISTRY_H_
#define GS_BENCHMARKS_TASK_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tasks/harness/trainer.h"

namespace gs::benchmarks {

// Every registered task name, sorted.
std::vector<std::string> TaskNames();

// A fresh task; InvalidArgument naming the known tasks for an unknown name.
absl::StatusOr<std::unique_ptr<tasks::Task>> NewTask(const std::string& name);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_TASK_REGISTRY_H_
