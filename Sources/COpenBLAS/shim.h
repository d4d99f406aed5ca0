// Function-pointer types of the few OpenBLAS / CBLAS entry points the CPU
// backend resolves with dlsym. No OpenBLAS header is needed at build time and
// nothing links libopenblas: the library is loaded at run time.
#ifndef TENSORENGINE_COPENBLAS_SHIM_H
#define TENSORENGINE_COPENBLAS_SHIM_H

enum { TE_CBLAS_ROW_MAJOR = 101, TE_CBLAS_NO_TRANS = 111, TE_CBLAS_TRANS = 112 };

typedef void (*te_cblas_sgemm_fn)(int order, int transA, int transB,
                                  int m, int n, int k, float alpha,
                                  const float *a, int lda, const float *b, int ldb,
                                  float beta, float *c, int ldc);
typedef void (*te_cblas_sgemv_fn)(int order, int trans, int m, int n, float alpha,
                                  const float *a, int lda, const float *x, int incx,
                                  float beta, float *y, int incy);
typedef void (*te_cblas_saxpy_fn)(int n, float alpha, const float *x, int incx,
                                  float *y, int incy);
typedef void (*te_openblas_set_num_threads_fn)(int threads);
typedef int (*te_openblas_get_num_threads_fn)(void);
typedef char *(*te_openblas_get_config_fn)(void);
typedef char *(*te_openblas_get_corename_fn)(void);

#endif
