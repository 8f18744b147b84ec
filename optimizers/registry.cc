#include "optimizers/registry.h"

#include <cmath>

#include "absl/strings/numbers.h"

namespace gs {

const std::string* SpecOptions::Find(const std::string& key) {
  known_.push_back(key);
  auto it = options_.find(key);
  return it == options_.end() ? nullptr : &it->second;
}

absl::Status SpecOptions::Get(const std::string& key, double* value) {
  const std::string* text = Find(key);
  if (text == nullptr) return absl::OkStatus();
  if (!absl::SimpleAtod(*text, value) || !std::isfinite(*value)) {
    return absl::InvalidArgumentError(absl::StrCat(owner_, " option '", key, "' is '", *text,
                                                   "'; expected a finite number"));
  }
  return absl::OkStatus();
}

absl::Status SpecOptions::Get(const std::string& key, int64_t* value) {
  const std::string* text = Find(key);
  if (text == nullptr) return absl::OkStatus();
  if (!absl::SimpleAtoi(*text, value)) {
    return absl::InvalidArgumentError(absl::StrCat(owner_, " option '", key, "' is '", *text,
                                                   "'; expected an integer"));
  }
  return absl::OkStatus();
}

absl::Status SpecOptions::Get(const std::string& key, bool* value) {
  const std::string* text = Find(key);
  if (text == nullptr) return absl::OkStatus();
  if (!absl::SimpleAtob(*text, value)) {
    return absl::InvalidArgumentError(absl::StrCat(owner_, " option '", key, "' is '", *text,
                                                   "'; expected true or false"));
  }
  return absl::OkStatus();
}

absl::Status SpecOptions::Get(const std::string& key, std::string* value,
                              const std::vector<std::string>& allowed) {
  const std::string* text = Find(key);
  if (text == nullptr) return absl::OkStatus();
  if (std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
    return absl::InvalidArgumentError(absl::StrCat(owner_, " option '", key, "' is '", *text,
                                                   "'; allowed: ", absl::StrJoin(allowed, ", ")));
  }
  *value = *text;
  return absl::OkStatus();
}

absl::Status SpecOptions::Finish() const {
  for (const auto& [key, text] : options_) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(owner_, " has no option '", key, "'; its options: ",
                       known_.empty() ? std::string("none") : absl::StrJoin(known_, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::Status Require(bool ok, absl::string_view owner, absl::string_view name, double value,
                     absl::string_view allowed) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(owner, " ", name, " is ", value, "; allowed: ", allowed));
}

absl::Status RequireNonNegative(absl::string_view owner, absl::string_view name, double value) {
  return Require(value >= 0.0 && std::isfinite(value), owner, name, value,
                 "a finite number >= 0");
}

}  // namespace gs
