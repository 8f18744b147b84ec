// Checkpoints in <out>/checkpoint/: step_<n>.pt (a torch archive) and step_<n>.json (its
// size and CRC-32), each written atomically, the manifest last. The archive is
// serialised in memory and written by WriteFileAtomic, so a full disk is an error that
// names the file, never a LibTorch writer failing inside a destructor. The newest
// checkpoint whose bytes match its manifest is used; a corrupt one is reported and the
// previous one (or a fresh start) taken instead. The two newest are kept; anything else
// in the folder that looks like a checkpoint (an older one, a temporary file, an archive
// without its manifest) is removed.
#ifndef GS_TASKS_HARNESS_CHECKPOINT_H_
#define GS_TASKS_HARNESS_CHECKPOINT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace gs::tasks {

class Checkpointer {
 public:
  explicit Checkpointer(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Save(int64_t step,
                    const std::function<void(torch::serialize::OutputArchive&)>& fill);

  // Restores the newest good checkpoint through `restore` and returns its step, or
  // nullopt when there is none. Problems with individual checkpoints (a manifest that
  // does not parse or does not match, an archive LibTorch cannot read, `restore`
  // failing or throwing) go to `warn`, and the next older checkpoint is tried.
  std::optional<int64_t> RestoreLatest(
      const std::function<absl::Status(torch::serialize::InputArchive&)>& restore,
      const std::function<void(const std::string&)>& warn);

  // The path of a step's archive, for messages.
  std::string ArchivePath(int64_t step) const;

 private:
  // Removes every checkpoint-like file but those of the two newest manifests.
  void Prune();

  std::string dir_;
};

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_CHECKPOINT_H_
