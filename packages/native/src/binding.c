// @hypernets/native: f32 GEMM with OpenBLAS on memory JavaScript owns (the tfjs wasm backend's
// heap). N-API only (no V8 API): one binary per platform serves every Node >= 18.
//
// OpenBLAS is opened at run time (dlopen), not linked: the addon loads on a machine without it
// and says why instead of failing to load. Every call is bounds-checked against the buffer
// before BLAS touches it: offsets, strides and sizes come from JavaScript.
#define NAPI_VERSION 8
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);
typedef char *(*get_config_fn)(void);

static void *lib = NULL;
static sgemm_fn sgemm = NULL;
static set_threads_fn set_threads = NULL;
static get_config_fn get_config = NULL;
static char lib_name[512] = "";

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error(env, "HYPERNETS_NATIVE", "@hypernets/native: N-API call failed: " #call);                       \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

// { ok: false, error } for init.
static napi_value failed(napi_env env, napi_value out, const char *why) {
  napi_value no;
  napi_get_boolean(env, false, &no);
  napi_set_named_property(env, out, "ok", no);
  napi_set_named_property(env, out, "error", str(env, why));
  return out;
}

// init(path?: string): { ok: true, library, config } | { ok: false, error }
static napi_value init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_create_object(env, &out));
  if (!sgemm) {
    char path[512] = "libopenblas.so.0";
    napi_valuetype t = napi_undefined;
    if (argc >= 1) CHECK(napi_typeof(env, argv[0], &t));
    if (t == napi_string) {
      size_t len;
      CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len));
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *e = dlerror();
      return failed(env, out, e ? e : "dlopen failed");
    }
    sgemm_fn f = (sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!f) {
      dlclose(h);
      return failed(env, out, "the library has no cblas_sgemm");
    }
    lib = h;
    sgemm = f;
    set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    get_config = (get_config_fn)dlsym(h, "openblas_get_config");
    snprintf(lib_name, sizeof lib_name, "%s", path);
  }
  napi_value yes;
  napi_get_boolean(env, true, &yes);
  CHECK(napi_set_named_property(env, out, "ok", yes));
  CHECK(napi_set_named_property(env, out, "library", str(env, lib_name)));
  CHECK(napi_set_named_property(env, out, "config", str(env, get_config ? get_config() : "")));
  return out;
}

// setThreads(n): OpenBLAS's thread count (a no-op for a BLAS without openblas_set_num_threads).
static napi_value set_threads_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_range_error(env, "HYPERNETS_NATIVE", "@hypernets/native: setThreads takes a positive integer");
    return NULL;
  }
  if (set_threads) set_threads(n);
  return NULL;
}

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

// Whether [off, off + (batch - 1)·stride + rows·cols) lies within n floats.
static int in_bounds(int64_t off, int64_t stride, int64_t batch, int64_t rows, int64_t cols, int64_t n) {
  if (rows == 0 || cols == 0) return off <= n;
  if (rows > n || cols > n || stride > n || batch > n) return 0;
  int64_t last = off + (batch - 1) * stride + rows * cols;
  return last <= n;
}

// sgemm(buffer, transA, transB, batch, M, N, K, aOff, aStride, bOff, bStride, cOff, cStride, alpha, beta)
// Row-major C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i] for i < batch; offsets and strides in floats;
// op(A) is M×K (A stored K×M when transA), op(B) is K×N (B stored N×K when transB), C is M×N.
static napi_value sgemm_js(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!sgemm) {
    napi_throw_error(env, "HYPERNETS_NATIVE", "@hypernets/native: init() has not loaded a BLAS");
    return NULL;
  }
  if (argc != 15) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: sgemm takes 15 arguments");
    return NULL;
  }
  void *data;
  size_t bytes;
  bool is_ab = false, ta, tb;
  CHECK(napi_is_arraybuffer(env, argv[0], &is_ab));
  if (!is_ab) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: sgemm's first argument must be an ArrayBuffer");
    return NULL;
  }
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &bytes));
  if (napi_get_value_bool(env, argv[1], &ta) != napi_ok || napi_get_value_bool(env, argv[2], &tb) != napi_ok) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: transA and transB must be booleans");
    return NULL;
  }
  int64_t v[10];
  for (int i = 0; i < 10; i++)
    if (!get_i64(env, argv[3 + i], &v[i])) {
      napi_throw_range_error(env, "HYPERNETS_NATIVE",
                             "@hypernets/native: sizes, offsets and strides must be non-negative integers");
      return NULL;
    }
  double alpha, beta;
  if (napi_get_value_double(env, argv[13], &alpha) != napi_ok || napi_get_value_double(env, argv[14], &beta) != napi_ok) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: alpha and beta must be numbers");
    return NULL;
  }
  int64_t batch = v[0], M = v[1], N = v[2], K = v[3];
  int64_t aOff = v[4], aStride = v[5], bOff = v[6], bStride = v[7], cOff = v[8], cStride = v[9];
  int64_t n = (int64_t)(bytes / sizeof(float));
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || batch < 1 || !in_bounds(aOff, aStride, batch, M, K, n) ||
      !in_bounds(bOff, bStride, batch, K, N, n) || !in_bounds(cOff, cStride, batch, M, N, n) ||
      (batch > 1 && cStride < M * N)) {
    napi_throw_range_error(env, "HYPERNETS_NATIVE",
                           "@hypernets/native: an operand lies outside the buffer (or the output's batches overlap)");
    return NULL;
  }
  if (M == 0 || N == 0) return NULL;
  float *base = (float *)data;
  int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N, ldc = (int)N;
  for (int64_t i = 0; i < batch; i++) {
    float *c = base + cOff + i * cStride;
    if (K == 0) {
      for (int64_t j = 0; j < M * N; j++) c[j] = beta == 0 ? 0.0f : (float)beta * c[j];
      continue;
    }
    sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, (int)M, (int)N, (int)K, (float)alpha,
          base + aOff + i * aStride, lda, base + bOff + i * bStride, ldb, (float)beta, c, ldc);
  }
  return NULL;
}

static int overlaps(int64_t a, int64_t b, int64_t n) { return a < b + n && b < a + n; }
static int overlaps_range(int64_t a, int64_t an, int64_t b, int64_t bn) { return a < b + bn && b < a + an; }

// The update loop, apart so that the compiler vectorises it: restrict (the JS side checked that no
// operand overlaps another), -O3 and -fno-math-errno (sqrtf needs no errno branch; SSE/AVX square
// roots and divisions are IEEE-rounded like the scalar ones, and -ffp-contract=off keeps
// multiply-adds apart, so every lane rounds as core's element-wise kernels do). On x86-64 with
// glibc an AVX2 clone is picked at load time where the CPU has it.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif
VECTOR_CLONES
static void adam_update(float *restrict X, const float *restrict G, float *restrict M, float *restrict V, int64_t n,
                        const float *k, int decay, int shrinks) {
  const float wd = k[0], shrink = k[1], b1 = k[2], omb1 = k[3], b2 = k[4];
  const float omb2 = k[5], bc2 = k[6], eps = k[7], scale = k[8];
  for (int64_t i = 0; i < n; i++) {
    float x = X[i], g = G[i];
    if (decay) {
      float t = x * wd;
      g = g + t;
    }
    float m1 = M[i] * b1, m2 = g * omb1, m = m1 + m2;
    float gg = g * g, v1 = V[i] * b2, v2 = gg * omb2, vv = v1 + v2;
    float q = sqrtf(vv) / bc2, den = q + eps, r = m / den, d = r * scale;
    M[i] = m;
    V[i] = vv;
    if (shrinks) x = x * shrink;
    X[i] = x + d;
  }
}

// adamStep(buffer, n, xOff, gOff, mOff, vOff, wd, shrink, b1, omb1, b2, omb2, bc2, eps, scale): one Adam step
// in place on x, m, v (float offsets; n floats each), every operation rounded to float32 in the
// order of @hypernets/core's Adam (built with -ffp-contract=off: no fused multiply-adds), so the
// result equals its element-wise kernels bit for bit:
//   g = g0 + x·wd (wd > 0); m = m·b1 + g·(1−b1); v = v·b2 + g²·(1−b2);
//   x = x·shrink (shrink ≠ 1: AdamW's decoupled decay) + m / (√v / bc2 + eps) · scale
static napi_value adam_js(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 15) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: adamStep takes 15 arguments");
    return NULL;
  }
  bool is_ab = false;
  CHECK(napi_is_arraybuffer(env, argv[0], &is_ab));
  if (!is_ab) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: adamStep's first argument must be an ArrayBuffer");
    return NULL;
  }
  void *data;
  size_t bytes;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &bytes));
  int64_t v[5];
  for (int i = 0; i < 5; i++)
    if (!get_i64(env, argv[1 + i], &v[i])) {
      napi_throw_range_error(env, "HYPERNETS_NATIVE", "@hypernets/native: sizes and offsets must be non-negative integers");
      return NULL;
    }
  double c[9];
  for (int i = 0; i < 9; i++)
    if (napi_get_value_double(env, argv[6 + i], &c[i]) != napi_ok) {
      napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: Adam's constants must be numbers");
      return NULL;
    }
  int64_t n = v[0], xo = v[1], go = v[2], mo = v[3], vo = v[4];
  int64_t cap = (int64_t)(bytes / sizeof(float));
  if (n > cap || xo > cap - n || go > cap - n || mo > cap - n || vo > cap - n || overlaps(xo, mo, n) ||
      overlaps(xo, vo, n) || overlaps(mo, vo, n) || overlaps(go, xo, n) || overlaps(go, mo, n) || overlaps(go, vo, n)) {
    napi_throw_range_error(env, "HYPERNETS_NATIVE",
                           "@hypernets/native: an Adam operand lies outside the buffer, or two of them overlap");
    return NULL;
  }
  float k[9];
  for (int i = 0; i < 9; i++) k[i] = (float)c[i];
  float *base = (float *)data;
  adam_update(base + xo, base + go, base + mo, base + vo, n, k, c[0] > 0, c[1] != 1);
  return NULL;
}

// out[c] = sum over r of X[r·cols + c], accumulated in float64 four rows at a time
// (acc += ((x0 + x1) + x2) + x3, left to right) and rounded to float32 once: the order of core's
// JavaScript Sum (packages/core/src/kernels/Sum.ts), so the same bits, vectorised over c.
VECTOR_CLONES
static void sum_rows(const float *restrict X, float *restrict out, double *restrict acc, int64_t rows, int64_t cols) {
  for (int64_t c = 0; c < cols; c++) acc[c] = 0;
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float *x0 = X + r * cols, *x1 = x0 + cols, *x2 = x1 + cols, *x3 = x2 + cols;
    for (int64_t c = 0; c < cols; c++) acc[c] += (((double)x0[c] + x1[c]) + x2[c]) + x3[c];
  }
  for (; r < rows; r++) {
    const float *x = X + r * cols;
    for (int64_t c = 0; c < cols; c++) acc[c] += x[c];
  }
  for (int64_t c = 0; c < cols; c++) out[c] = (float)acc[c];
}

// sumRows(buffer, rows, cols, xOff, outOff): column sums of a row-major [rows, cols] float32
// matrix into cols floats (offsets in floats; the output must not overlap the input).
static napi_value sum_rows_js(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: sumRows takes 5 arguments");
    return NULL;
  }
  bool is_ab = false;
  CHECK(napi_is_arraybuffer(env, argv[0], &is_ab));
  if (!is_ab) {
    napi_throw_type_error(env, "HYPERNETS_NATIVE", "@hypernets/native: sumRows's first argument must be an ArrayBuffer");
    return NULL;
  }
  void *data;
  size_t bytes;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &bytes));
  int64_t v[4];
  for (int i = 0; i < 4; i++)
    if (!get_i64(env, argv[1 + i], &v[i])) {
      napi_throw_range_error(env, "HYPERNETS_NATIVE", "@hypernets/native: sizes and offsets must be non-negative integers");
      return NULL;
    }
  int64_t rows = v[0], cols = v[1], xo = v[2], oo = v[3];
  int64_t cap = (int64_t)(bytes / sizeof(float));
  // rows·cols cannot overflow: rows ≤ cap / cols is checked before it is formed
  if (rows > cap || cols > cap || (cols > 0 && rows > cap / cols) || xo > cap - rows * cols || oo > cap - cols ||
      (rows > 0 && overlaps_range(xo, rows * cols, oo, cols))) {
    napi_throw_range_error(env, "HYPERNETS_NATIVE",
                           "@hypernets/native: a sumRows operand lies outside the buffer, or the output overlaps the input");
    return NULL;
  }
  if (cols == 0) return NULL;
  double *acc = malloc((size_t)cols * sizeof(double));
  if (!acc) {
    napi_throw_error(env, "HYPERNETS_NATIVE", "@hypernets/native: out of memory for sumRows's accumulator");
    return NULL;
  }
  float *base = (float *)data;
  sum_rows(base + xo, base + oo, acc, rows, cols);
  free(acc);
  return NULL;
}

static napi_value module_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, init, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads_js, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, sgemm_js, NULL, NULL, NULL, napi_default, NULL},
      {"adamStep", NULL, adam_js, NULL, NULL, NULL, napi_default, NULL},
      {"sumRows", NULL, sum_rows_js, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, module_init)
