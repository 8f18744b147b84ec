#define GS_KERNELS_ISA baseline
#include "optimizers/kernels_impl.inc"
