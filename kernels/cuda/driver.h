// Binding of the CUDA driver API loaded at run time with dlopen: no CUDA
// header or library is needed to build. Handles cross to Go as uint64_t
// (device pointers) or uintptr_t (contexts, modules, streams, ...); every
// wrapper returns the driver's CUresult (0 is success).
#ifndef BITNET_CUDA_DRIVER_H
#define BITNET_CUDA_DRIVER_H

#include <stddef.h>
#include <stdint.h>

// Results of bn_load besides a CUresult of cuInit.
#define BN_LOAD_NO_LIBRARY (-1) // dlopen failed
#define BN_LOAD_NO_SYMBOL (-2)  // a required function is missing

// The most kernel arguments bn_launch takes.
#define BN_MAX_ARGS 64

// bn_load opens libcuda.so.1, resolves every function and calls cuInit(0).
// It returns 0, BN_LOAD_NO_LIBRARY or BN_LOAD_NO_SYMBOL (msg says which),
// or cuInit's CUresult. Call it once.
int bn_load(char *msg, int msglen);

// Name and description of a CUresult (never NULL).
const char *bn_error_name(int code);
const char *bn_error_string(int code);

// The identity of the calling OS thread.
uint64_t bn_thread_id(void);

int bn_driver_version(int *v);
int bn_device_count(int *n);
int bn_device_get(int *dev, int ordinal);
int bn_device_name(char *name, int len, int dev);
int bn_device_attr(int *v, int attr, int dev);
int bn_device_total_mem(uint64_t *bytes, int dev);
// Free and total memory of a device through its primary context, made
// current on this thread for the call only (the previous one is restored).
int bn_device_mem_info(uint64_t *free_bytes, uint64_t *total_bytes, int dev);

int bn_primary_retain(uintptr_t *ctx, int dev);
int bn_primary_release(int dev);
int bn_ctx_set_current(uintptr_t ctx);
int bn_ctx_synchronize(void);
int bn_mem_get_info(uint64_t *free_bytes, uint64_t *total_bytes);

// bn_module_load JIT-compiles a NUL-terminated PTX image; on failure the
// JIT's error log (possibly empty) is in log.
int bn_module_load(uintptr_t *mod, const void *image, char *log, int loglen);
int bn_module_unload(uintptr_t mod);
int bn_module_function(uintptr_t *fn, uintptr_t mod, const char *name);
int bn_func_get_attr(int *v, int attr, uintptr_t fn);
int bn_func_set_attr(uintptr_t fn, int attr, int v);

int bn_mem_alloc(uint64_t *ptr, uint64_t bytes);
int bn_mem_free(uint64_t ptr);
int bn_memcpy_htod(uint64_t dst, const void *src, uint64_t bytes);
int bn_memcpy_dtoh(void *dst, uint64_t src, uint64_t bytes);
int bn_memcpy_htod_async(uint64_t dst, const void *src, uint64_t bytes, uintptr_t stream);
int bn_memcpy_dtoh_async(void *dst, uint64_t src, uint64_t bytes, uintptr_t stream);
int bn_memcpy_dtod_async(uint64_t dst, uint64_t src, uint64_t bytes, uintptr_t stream);
int bn_memset_d8(uint64_t ptr, unsigned char v, uint64_t bytes);
int bn_memset_d8_async(uint64_t ptr, unsigned char v, uint64_t bytes, uintptr_t stream);

// bn_launch launches fn with nargs arguments; args[i] holds argument i in
// its first bytes (little-endian), copied here before the launch.
int bn_launch(uintptr_t fn, const uint32_t *grid, const uint32_t *block, uint32_t shared,
              uintptr_t stream, const uint64_t *args, int nargs);

int bn_stream_create(uintptr_t *stream);
int bn_stream_destroy(uintptr_t stream);
int bn_stream_synchronize(uintptr_t stream);
int bn_stream_begin_capture(uintptr_t stream);
int bn_stream_end_capture(uintptr_t stream, uintptr_t *graph);
int bn_graph_instantiate(uintptr_t *exec, uintptr_t graph);
int bn_graph_launch(uintptr_t exec, uintptr_t stream);
int bn_graph_exec_destroy(uintptr_t exec);
int bn_graph_destroy(uintptr_t graph);

int bn_event_create(uintptr_t *event);
int bn_event_record(uintptr_t event, uintptr_t stream);
int bn_event_synchronize(uintptr_t event);
int bn_event_elapsed(float *ms, uintptr_t start, uintptr_t end);
int bn_event_destroy(uintptr_t event);

#endif
