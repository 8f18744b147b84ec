// Name -> factory registries for base optimizers and depth transforms. Adding one is
// a class plus one GS_REGISTER_* line in its .cc file (the library is alwayslink).
#ifndef GS_OPTIMIZERS_REGISTRY_H_
#define GS_OPTIMIZERS_REGISTRY_H_

#include <functional>
#include <initializer_list>
#include <utility>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace gs {

template <typename Product, typename Spec>
class Registry {
 public:
  using Factory = std::function<absl::StatusOr<std::unique_ptr<Product>>(const Spec&)>;

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  // Returns true so it can initialise a static; registering a name twice aborts, since
  // two libraries disagreeing on a name is a build mistake, not a user error.
  bool Register(std::string name, Factory factory) {
    if (!factories_.emplace(name, std::move(factory)).second) {
      fprintf(stderr, "%s '%s' registered twice\n", kind_.c_str(), name.c_str());
      abort();
    }
    return true;
  }

  absl::StatusOr<std::unique_ptr<Product>> Create(absl::string_view name,
                                                  const Spec& spec) const {
    auto it = factories_.find(std::string(name));
    if (it == factories_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown ", kind_, " '", name,
                                                     "'; registered: ",
                                                     absl::StrJoin(Names(), ", ")));
    }
    return it->second(spec);
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& [name, factory] : factories_) names.push_back(name);
    return names;
  }

 private:
  std::string kind_;
  std::map<std::string, Factory> factories_;
};

// Reads a spec's string options: each Get consumes a key; Finish reports the keys
// nobody asked for, with the ones that are allowed.
class SpecOptions {
 public:
  SpecOptions(std::string owner, const std::map<std::string, std::string>& options)
      : owner_(std::move(owner)), options_(options) {}

  absl::Status Get(const std::string& key, double* value);
  absl::Status Get(const std::string& key, int64_t* value);
  absl::Status Get(const std::string& key, bool* value);
  absl::Status Get(const std::string& key, std::string* value,
                   const std::vector<std::string>& allowed);
  absl::Status Finish() const;

 private:
  const std::string* Find(const std::string& key);
  std::string owner_;
  const std::map<std::string, std::string>& options_;
  std::vector<std::string> known_;
};

// InvalidArgument "<owner> <name> is <value>; allowed: <allowed>" unless `ok`.
absl::Status Require(bool ok, absl::string_view owner, absl::string_view name, double value,
                     absl::string_view allowed);

// Require for a setting that must be a finite number >= 0 (learning rates, decays).
absl::Status RequireNonNegative(absl::string_view owner, absl::string_view name, double value);

// The enum value named `value` among `names`, or InvalidArgument naming `what` and the
// allowed names: ParseName<Scope>("smoothing scope", "all", {{"all", kAll}, ...}).
template <typename E>
absl::StatusOr<E> ParseName(absl::string_view what, absl::string_view value,
                            std::initializer_list<std::pair<const char*, E>> names) {
  std::vector<std::string> allowed;
  for (const auto& [name, e] : names) {
    if (value == name) return e;
    allowed.push_back(name);
  }
  return absl::InvalidArgumentError(absl::StrCat(what, " is '", value, "'; allowed: ",
                                                 absl::StrJoin(allowed, ", ")));
}

}  // namespace gs

#define GS_REGISTRY_CONCAT_INNER_(a, b) a##b
#define GS_REGISTRY_CONCAT_(a, b) GS_REGISTRY_CONCAT_INNER_(a, b)

#endif  // GS_OPTIMIZERS_REGISTRY_H_
