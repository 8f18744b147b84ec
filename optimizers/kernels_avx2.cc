#define GS_KERNELS_ISA avx2
#include "optimizers/kernels_impl.inc"
