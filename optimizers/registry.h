// Name -> factory registries for base optimizers and depth transforms. Each entry
// carries its options' declaration (options.h): the registry checks a spec's options
// against it before the factory sees them, so a factory only turns valid values into
// an object. Adding one is a class plus one GS_REGISTER_* line in its .cc file (the
// library is alwayslink).
#ifndef GS_OPTIMIZERS_REGISTRY_H_
#define GS_OPTIMIZERS_REGISTRY_H_

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "optimizers/options.h"

namespace gs {

template <typename Product, typename Spec>
class Registry {
 public:
  // Spec carries `options` (key -> text); the factory gets them checked and completed.
  using Factory =
      std::function<absl::StatusOr<std::unique_ptr<Product>>(const Spec&, const OptionValues&)>;

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  // Returns true so it can initialise a static; registering a name twice aborts, since
  // two libraries disagreeing on a name is a build mistake, not a user error.
  bool Register(std::string name, OptionSchema schema, Factory factory) {
    if (!entries_.emplace(name, Entry{std::move(schema), std::move(factory)}).second) {
      std::fprintf(stderr, "%s '%s' registered twice\n", kind_.c_str(), name.c_str());
      std::abort();
    }
    return true;
  }

  absl::StatusOr<std::unique_ptr<Product>> Create(absl::string_view name,
                                                  const Spec& spec) const {
    auto it = entries_.find(std::string(name));
    if (it == entries_.end()) return Unknown(name);
    absl::StatusOr<OptionValues> values = it->second.schema.Resolve(name, spec.options);
    if (!values.ok()) return values.status();
    return it->second.factory(spec, *values);
  }

  // The declaration of `name`'s options, or NotFound-style InvalidArgument naming the
  // registered ones.
  absl::StatusOr<const OptionSchema*> Schema(absl::string_view name) const {
    auto it = entries_.find(std::string(name));
    if (it == entries_.end()) return Unknown(name);
    return &it->second.schema;
  }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) names.push_back(name);
    return names;
  }

  const std::string& kind() const { return kind_; }

 private:
  struct Entry {
    OptionSchema schema;
    Factory factory;
  };

  absl::Status Unknown(absl::string_view name) const {
    return absl::InvalidArgumentError(absl::StrCat("unknown ", kind_, " '", name,
                                                   "'; registered: ", absl::StrJoin(Names(), ", ")));
  }

  std::string kind_;
  std::map<std::string, Entry> entries_;
};

// InvalidArgument "<owner>: <what>" unless `ok`: for rules that tie options together
// (SGD's nesterov needs momentum), which one option's range cannot say.
absl::Status Require(bool ok, absl::string_view owner, absl::string_view what);

}  // namespace gs

#define GS_REGISTRY_CONCAT_INNER_(a, b) a##b
#define GS_REGISTRY_CONCAT_(a, b) GS_REGISTRY_CONCAT_INNER_(a, b)

#endif  // GS_OPTIMIZERS_REGISTRY_H_
