// Run-time binding of the CUDA driver API (see driver.h). The few driver
// types and constants used are declared here, so that nothing of CUDA is
// needed to build.
#ifndef _WIN32

#include "driver.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef void *CUevent;
typedef void *CUgraph;
typedef void *CUgraphExec;

enum {
	CU_STREAM_NON_BLOCKING = 1,
	CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
	CU_EVENT_DEFAULT = 0,
	CU_JIT_ERROR_LOG_BUFFER = 5,
	CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
};

// The driver's functions, filled once by bn_load.
static struct {
	CUresult (*Init)(unsigned int);
	CUresult (*DriverGetVersion)(int *);
	CUresult (*DeviceGetCount)(int *);
	CUresult (*DeviceGet)(CUdevice *, int);
	CUresult (*DeviceGetName)(char *, int, CUdevice);
	CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
	CUresult (*DeviceTotalMem)(size_t *, CUdevice);
	CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*PrimaryCtxRelease)(CUdevice);
	CUresult (*CtxSetCurrent)(CUcontext);
	CUresult (*CtxGetCurrent)(CUcontext *);
	CUresult (*CtxSynchronize)(void);
	CUresult (*MemGetInfo)(size_t *, size_t *);
	CUresult (*ModuleLoadData)(CUmodule *, const void *);
	CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned int, int *, void **);
	CUresult (*ModuleUnload)(CUmodule);
	CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*FuncGetAttribute)(int *, int, CUfunction);
	CUresult (*FuncSetAttribute)(CUfunction, int, int);
	CUresult (*MemAlloc)(CUdeviceptr *, size_t);
	CUresult (*MemFree)(CUdeviceptr);
	CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
	CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
	CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*MemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t);
	CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
	CUresult (*LaunchKernel)(CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
	                         unsigned int, unsigned int, unsigned int, CUstream, void **, void **);
	CUresult (*StreamCreate)(CUstream *, unsigned int);
	CUresult (*StreamDestroy)(CUstream);
	CUresult (*StreamSynchronize)(CUstream);
	CUresult (*StreamBeginCapture)(CUstream, int);
	CUresult (*StreamEndCapture)(CUstream, CUgraph *);
	CUresult (*GraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
	CUresult (*GraphLaunch)(CUgraphExec, CUstream);
	CUresult (*GraphExecDestroy)(CUgraphExec);
	CUresult (*GraphDestroy)(CUgraph);
	CUresult (*EventCreate)(CUevent *, unsigned int);
	CUresult (*EventRecord)(CUevent, CUstream);
	CUresult (*EventSynchronize)(CUevent);
	CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
	CUresult (*EventDestroy)(CUevent);
	CUresult (*GetErrorName)(CUresult, const char **);
	CUresult (*GetErrorString)(CUresult, const char **);
} drv;

// One function: where it goes and the exported names to try, in order
// (versioned names first). Optional functions may be missing.
struct sym {
	void **dst;
	const char *names[2];
	int optional;
};

#define S(field, name) {(void **)&drv.field, {name, NULL}, 0}
#define S2(field, name, alt) {(void **)&drv.field, {name, alt}, 0}
#define OPT(field, name) {(void **)&drv.field, {name, NULL}, 1}

static const struct sym syms[] = {
	S(Init, "cuInit"),
	S(DriverGetVersion, "cuDriverGetVersion"),
	S(DeviceGetCount, "cuDeviceGetCount"),
	S(DeviceGet, "cuDeviceGet"),
	S(DeviceGetName, "cuDeviceGetName"),
	S(DeviceGetAttribute, "cuDeviceGetAttribute"),
	S(DeviceTotalMem, "cuDeviceTotalMem_v2"),
	S(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
	S2(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"),
	S(CtxSetCurrent, "cuCtxSetCurrent"),
	S(CtxGetCurrent, "cuCtxGetCurrent"),
	S(CtxSynchronize, "cuCtxSynchronize"),
	S(MemGetInfo, "cuMemGetInfo_v2"),
	S(ModuleLoadData, "cuModuleLoadData"),
	OPT(ModuleLoadDataEx, "cuModuleLoadDataEx"),
	S(ModuleUnload, "cuModuleUnload"),
	S(ModuleGetFunction, "cuModuleGetFunction"),
	S(FuncGetAttribute, "cuFuncGetAttribute"),
	S(FuncSetAttribute, "cuFuncSetAttribute"),
	S(MemAlloc, "cuMemAlloc_v2"),
	S(MemFree, "cuMemFree_v2"),
	S(MemcpyHtoD, "cuMemcpyHtoD_v2"),
	S(MemcpyDtoH, "cuMemcpyDtoH_v2"),
	S(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
	S(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
	S(MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"),
	S(MemsetD8, "cuMemsetD8_v2"),
	S(MemsetD8Async, "cuMemsetD8Async"),
	S(LaunchKernel, "cuLaunchKernel"),
	S(StreamCreate, "cuStreamCreate"),
	S(StreamDestroy, "cuStreamDestroy_v2"),
	S(StreamSynchronize, "cuStreamSynchronize"),
	S(StreamBeginCapture, "cuStreamBeginCapture_v2"),
	S(StreamEndCapture, "cuStreamEndCapture"),
	S(GraphInstantiateWithFlags, "cuGraphInstantiateWithFlags"),
	S(GraphLaunch, "cuGraphLaunch"),
	S(GraphExecDestroy, "cuGraphExecDestroy"),
	S(GraphDestroy, "cuGraphDestroy"),
	S(EventCreate, "cuEventCreate"),
	S(EventRecord, "cuEventRecord"),
	S(EventSynchronize, "cuEventSynchronize"),
	S(EventElapsedTime, "cuEventElapsedTime"),
	S2(EventDestroy, "cuEventDestroy_v2", "cuEventDestroy"),
	S(GetErrorName, "cuGetErrorName"),
	S(GetErrorString, "cuGetErrorString"),
};


// CALL calls a driver function, or fails with CUDA_ERROR_NOT_INITIALIZED
// when the driver is not loaded (the Go side never calls before a
// successful load; this keeps a mistake from crashing).
#define CALL(f, ...) (drv.f == NULL ? 3 : drv.f(__VA_ARGS__))
#define CALL0(f) (drv.f == NULL ? 3 : drv.f())

int bn_load(char *msg, int msglen) {
	void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		const char *e = dlerror();
		snprintf(msg, (size_t)msglen, "%s", e != NULL ? e : "dlopen libcuda.so.1 failed");
		return BN_LOAD_NO_LIBRARY;
	}
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		const struct sym *s = &syms[i];
		void *p = NULL;
		for (int k = 0; k < 2 && p == NULL && s->names[k] != NULL; k++) {
			p = dlsym(lib, s->names[k]);
		}
		if (p == NULL && !s->optional) {
			snprintf(msg, (size_t)msglen, "libcuda.so.1 has no %s (driver too old)", s->names[0]);
			memset(&drv, 0, sizeof drv);
			return BN_LOAD_NO_SYMBOL;
		}
		*s->dst = p;
	}
	// The library stays open for the life of the process.
	return drv.Init(0);
}

const char *bn_error_name(int code) {
	const char *s = NULL;
	if (drv.GetErrorName == NULL || drv.GetErrorName(code, &s) != 0 || s == NULL) {
		return "CUDA_ERROR_UNKNOWN_CODE";
	}
	return s;
}

const char *bn_error_string(int code) {
	const char *s = NULL;
	if (drv.GetErrorString == NULL || drv.GetErrorString(code, &s) != 0 || s == NULL) {
		return "unknown error code";
	}
	return s;
}

uint64_t bn_thread_id(void) { return (uint64_t)(uintptr_t)pthread_self(); }

int bn_driver_version(int *v) { return CALL(DriverGetVersion, v); }
int bn_device_count(int *n) { return CALL(DeviceGetCount, n); }
int bn_device_get(int *dev, int ordinal) { return CALL(DeviceGet, dev, ordinal); }
int bn_device_name(char *name, int len, int dev) { return CALL(DeviceGetName, name, len, dev); }
int bn_device_attr(int *v, int attr, int dev) { return CALL(DeviceGetAttribute, v, attr, dev); }

int bn_device_total_mem(uint64_t *bytes, int dev) {
	size_t b = 0;
	CUresult r = CALL(DeviceTotalMem, &b, dev);
	*bytes = b;
	return r;
}

int bn_device_mem_info(uint64_t *free_bytes, uint64_t *total_bytes, int dev) {
	CUcontext prev = NULL, ctx = NULL;
	CUresult r = CALL(CtxGetCurrent, &prev);
	if (r != 0) {
		return r;
	}
	r = CALL(PrimaryCtxRetain, &ctx, dev);
	if (r != 0) {
		return r;
	}
	r = CALL(CtxSetCurrent, ctx);
	if (r == 0) {
		size_t f = 0, t = 0;
		r = CALL(MemGetInfo, &f, &t);
		*free_bytes = f;
		*total_bytes = t;
		CUresult r2 = CALL(CtxSetCurrent, prev);
		if (r == 0) {
			r = r2;
		}
	}
	CUresult r3 = CALL(PrimaryCtxRelease, dev);
	return r != 0 ? r : r3;
}

int bn_primary_retain(uintptr_t *ctx, int dev) {
	CUcontext c = NULL;
	CUresult r = CALL(PrimaryCtxRetain, &c, dev);
	*ctx = (uintptr_t)c;
	return r;
}

int bn_primary_release(int dev) { return CALL(PrimaryCtxRelease, dev); }
int bn_ctx_set_current(uintptr_t ctx) { return CALL(CtxSetCurrent, (CUcontext)ctx); }
int bn_ctx_synchronize(void) { return CALL0(CtxSynchronize); }

int bn_mem_get_info(uint64_t *free_bytes, uint64_t *total_bytes) {
	size_t f = 0, t = 0;
	CUresult r = CALL(MemGetInfo, &f, &t);
	*free_bytes = f;
	*total_bytes = t;
	return r;
}

int bn_module_load(uintptr_t *mod, const void *image, char *log, int loglen) {
	CUmodule m = NULL;
	CUresult r;
	if (loglen > 0) {
		log[0] = 0;
	}
	if (drv.ModuleLoadDataEx != NULL && loglen > 1) {
		int opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
		void *vals[2] = {log, (void *)(uintptr_t)loglen};
		r = drv.ModuleLoadDataEx(&m, image, 2, opts, vals);
		log[loglen - 1] = 0;
	} else {
		r = CALL(ModuleLoadData, &m, image);
	}
	*mod = (uintptr_t)m;
	return r;
}

int bn_module_unload(uintptr_t mod) { return CALL(ModuleUnload, (CUmodule)mod); }

int bn_module_function(uintptr_t *fn, uintptr_t mod, const char *name) {
	CUfunction f = NULL;
	CUresult r = CALL(ModuleGetFunction, &f, (CUmodule)mod, name);
	*fn = (uintptr_t)f;
	return r;
}

int bn_func_get_attr(int *v, int attr, uintptr_t fn) { return CALL(FuncGetAttribute, v, attr, (CUfunction)fn); }
int bn_func_set_attr(uintptr_t fn, int attr, int v) { return CALL(FuncSetAttribute, (CUfunction)fn, attr, v); }

int bn_mem_alloc(uint64_t *ptr, uint64_t bytes) {
	CUdeviceptr p = 0;
	CUresult r = CALL(MemAlloc, &p, (size_t)bytes);
	*ptr = p;
	return r;
}

int bn_mem_free(uint64_t ptr) { return CALL(MemFree, ptr); }
int bn_memcpy_htod(uint64_t dst, const void *src, uint64_t bytes) { return CALL(MemcpyHtoD, dst, src, (size_t)bytes); }
int bn_memcpy_dtoh(void *dst, uint64_t src, uint64_t bytes) { return CALL(MemcpyDtoH, dst, src, (size_t)bytes); }

int bn_memcpy_htod_async(uint64_t dst, const void *src, uint64_t bytes, uintptr_t stream) {
	return CALL(MemcpyHtoDAsync, dst, src, (size_t)bytes, (CUstream)stream);
}

int bn_memcpy_dtoh_async(void *dst, uint64_t src, uint64_t bytes, uintptr_t stream) {
	return CALL(MemcpyDtoHAsync, dst, src, (size_t)bytes, (CUstream)stream);
}

int bn_memcpy_dtod_async(uint64_t dst, uint64_t src, uint64_t bytes, uintptr_t stream) {
	return CALL(MemcpyDtoDAsync, dst, src, (size_t)bytes, (CUstream)stream);
}

int bn_memset_d8(uint64_t ptr, unsigned char v, uint64_t bytes) { return CALL(MemsetD8, ptr, v, (size_t)bytes); }

int bn_memset_d8_async(uint64_t ptr, unsigned char v, uint64_t bytes, uintptr_t stream) {
	return CALL(MemsetD8Async, ptr, v, (size_t)bytes, (CUstream)stream);
}

int bn_launch(uintptr_t fn, const uint32_t *grid, const uint32_t *block, uint32_t shared,
              uintptr_t stream, const uint64_t *args, int nargs) {
	// The driver reads each argument through params[i] during the call;
	// both arrays live on this C stack, never in Go memory.
	uint64_t vals[BN_MAX_ARGS];
	void *params[BN_MAX_ARGS];
	if (nargs < 0 || nargs > BN_MAX_ARGS) {
		return 1; // CUDA_ERROR_INVALID_VALUE
	}
	for (int i = 0; i < nargs; i++) {
		vals[i] = args[i];
		params[i] = &vals[i];
	}
	return CALL(LaunchKernel, (CUfunction)fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], shared,
	                        (CUstream)stream, nargs > 0 ? params : NULL, NULL);
}

int bn_stream_create(uintptr_t *stream) {
	CUstream s = NULL;
	CUresult r = CALL(StreamCreate, &s, CU_STREAM_NON_BLOCKING);
	*stream = (uintptr_t)s;
	return r;
}

int bn_stream_destroy(uintptr_t stream) { return CALL(StreamDestroy, (CUstream)stream); }
int bn_stream_synchronize(uintptr_t stream) { return CALL(StreamSynchronize, (CUstream)stream); }

int bn_stream_begin_capture(uintptr_t stream) {
	return CALL(StreamBeginCapture, (CUstream)stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
}

int bn_stream_end_capture(uintptr_t stream, uintptr_t *graph) {
	CUgraph g = NULL;
	CUresult r = CALL(StreamEndCapture, (CUstream)stream, &g);
	*graph = (uintptr_t)g;
	return r;
}

int bn_graph_instantiate(uintptr_t *exec, uintptr_t graph) {
	CUgraphExec e = NULL;
	CUresult r = CALL(GraphInstantiateWithFlags, &e, (CUgraph)graph, 0);
	*exec = (uintptr_t)e;
	return r;
}

int bn_graph_launch(uintptr_t exec, uintptr_t stream) { return CALL(GraphLaunch, (CUgraphExec)exec, (CUstream)stream); }
int bn_graph_exec_destroy(uintptr_t exec) { return CALL(GraphExecDestroy, (CUgraphExec)exec); }
int bn_graph_destroy(uintptr_t graph) { return CALL(GraphDestroy, (CUgraph)graph); }

int bn_event_create(uintptr_t *event) {
	CUevent e = NULL;
	CUresult r = CALL(EventCreate, &e, CU_EVENT_DEFAULT);
	*event = (uintptr_t)e;
	return r;
}

int bn_event_record(uintptr_t event, uintptr_t stream) { return CALL(EventRecord, (CUevent)event, (CUstream)stream); }
int bn_event_synchronize(uintptr_t event) { return CALL(EventSynchronize, (CUevent)event); }
int bn_event_elapsed(float *ms, uintptr_t start, uintptr_t end) {
	return CALL(EventElapsedTime, ms, (CUevent)start, (CUevent)end);
}
int bn_event_destroy(uintptr_t event) { return CALL(EventDestroy, (CUevent)event); }

#endif
