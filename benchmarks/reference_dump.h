// What the PyTorch reference (benchmarks/pytorch_reference/reference.py) needs to
// replay a task's training in eager PyTorch: the initial weights, the batches of the
// first steps, the learning-rate multipliers, the AdamW settings, and (for the
// same-work check) the C++ losses of the first steps, the first step's gradients and the
// weights after them.
//
// A dump is a directory with two files:
//   tensors.bin  raw little-endian arrays, one after another
//   index.json   {"format": "gs-reference-dump-1", "task", "preset", "seed", "model"
//                 (the task's Describe()), "optimizer": {"name": "adamw", "lr",
//                 "weight_decay", "beta1", "beta2", "eps"}, "clip", "lr_scales": [per
//                 dumped batch], "params": [tensor], "batches": [{"inputs": tensor,
//                 "targets": tensor}], "losses": [C++ loss of step i], "first_grads":
//                 [tensor] (step 0's gradients after clipping), "final_params": [tensor]
//                 (after the recorded steps); the last two empty when no step is recorded}
//   where a tensor is {"name", "dtype": "float32"|"int64", "shape", "offset", "bytes"}
//   into tensors.bin. index.json is written last, so a dump with an index is whole.
#ifndef GS_BENCHMARKS_REFERENCE_DUMP_H_
#define GS_BENCHMARKS_REFERENCE_DUMP_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "benchmarks/training_arm.h"

namespace gs::benchmarks {

// Dumps `arm` (an AdamW arm without smoothing, not stepped yet) into `dir` (created):
// its weights, the batches of steps [0, batches), then trains `train_steps` steps
// (<= batches) recording their losses and the weights after them.
absl::Status WriteReferenceDump(TrainingArm& arm, const std::string& dir, int64_t batches,
                                int64_t train_steps);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_REFERENCE_DUMP_H_
