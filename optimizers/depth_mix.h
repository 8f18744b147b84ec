// A depth mix: the linear combination along depth that a smoothing transform applies
// to one depth group, out_l = sum_j w_lj * in_j, stored by rows as a band.
#ifndef GS_OPTIMIZERS_DEPTH_MIX_H_
#define GS_OPTIMIZERS_DEPTH_MIX_H_

#include <cstdint>
#include <vector>

namespace gs {

struct DepthMix {
  struct Term {
    int64_t from;   // j
    double weight;  // w_lj
  };
  // rows[l] lists the terms of out_l in increasing j.
  std::vector<std::vector<Term>> rows;

  int64_t depth() const { return static_cast<int64_t>(rows.size()); }
  // Multiplies row l by scale[l] (data-dependent variants rescale whole blocks).
  void ScaleRows(const std::vector<double>& scale);
  // Multiplies every term from block j by scale[j].
  void ScaleColumns(const std::vector<double>& scale);
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_DEPTH_MIX_H_
