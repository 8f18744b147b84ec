// The few BLAS routines ATen does not expose the way we need them, over row-major
// matrices: the system BLAS's Fortran interface (OpenBLAS here, see tools/bootstrap.sh),
// called directly, without ATen's per-call dispatch (which dominates for small matrices).
#ifndef GS_OPTIMIZERS_BLAS_ROUTINES_H_
#define GS_OPTIMIZERS_BLAS_ROUTINES_H_

extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b,
            const int* ldb, const double* beta, double* c, const int* ldc);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* beta,
            double* c, const int* ldc);
}

namespace gs::blas {

// Row-major C (m x n, ldc) = alpha op(A) op(B) + beta C, op(X) = X or X^T as stored
// row-major with its leading dimension. Column-major BLAS sees each row-major matrix as
// its transpose, so it computes C^T = op(B)^T op(A)^T.
inline void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm_(trans_b ? "T" : "N", trans_a ? "T" : "N", &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta,
         c, &ldc);
}
inline void Gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a,
                 int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  dgemm_(trans_b ? "T" : "N", trans_a ? "T" : "N", &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta,
         c, &ldc);
}

// The lower triangle (row-major) of C (r x r) = X X^T for X (r x k, contiguous); the
// upper triangle is left as it was.
inline void SyrkLower(int r, int k, const float* x, float* c) {
  const float one = 1, zero = 0;
  ssyrk_("U", "T", &r, &k, &one, x, &k, &zero, c, &r);
}
inline void SyrkLower(int r, int k, const double* x, double* c) {
  const double one = 1, zero = 0;
  dsyrk_("U", "T", &r, &k, &one, x, &k, &zero, c, &r);
}

}  // namespace gs::blas

#endif  // GS_OPTIMIZERS_BLAS_ROUTINES_H_
