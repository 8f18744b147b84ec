// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status, which Abseil's 20220623 LTS
// does not ship.
#ifndef GS_OPTIMIZERS_STATUS_MACROS_H_
#define GS_OPTIMIZERS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GS_CONCAT_INNER_(a, b) a##b
#define GS_CONCAT_(a, b) GS_CONCAT_INNER_(a, b)

#define GS_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    ::absl::Status gs_status_ = (expr);                \
    if (!gs_status_.ok()) return gs_status_;           \
  } while (0)

#define GS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)

#define GS_ASSIGN_OR_RETURN(lhs, expr) \
  GS_ASSIGN_OR_RETURN_IMPL_(GS_CONCAT_(gs_statusor_, __LINE__), lhs, expr)

#endif  // GS_OPTIMIZERS_STATUS_MACROS_H_
