/*
 * bitnet.h: the C ABI of the bitnet inference engine (libbitnet).
 *
 * Conventions
 * - Every function returning int32_t returns BITNET_OK (0) on success or a
 *   negative BITNET_ERR_* code; the message of the last failure on the
 *   calling thread is then available from bitnet_last_error().
 * - Objects are opaque handles created by a *_new / *_load / *_start
 *   function and released by the matching *_free function (which accepts
 *   NULL). A handle may be used from any thread; a session, stream or
 *   sampler must not be used by two threads at the same time, a model and a
 *   tokenizer may.
 * - Strings passed in are UTF-8 and NUL-terminated. Strings returned through
 *   char** are allocated by the library and released with bitnet_free_string.
 *   Arrays are written into caller-owned buffers: the functions take the
 *   capacity and report the needed length; when the buffer is too small they
 *   return BITNET_ERR_BUFFER_TOO_SMALL after setting the needed length.
 * - Structs passed in start with struct_size, set by the *_default
 *   function, so later versions can add fields.
 * - No function lets a panic or exception cross the boundary: internal
 *   failures become BITNET_ERR_INTERNAL.
 *
 * The layout of this file is kept parseable by cffi: declarations only; the
 * lines starting with '#' and the extern "C" guards are the only C
 * preprocessor parts.
 */
#ifndef BITNET_H
#define BITNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BITNET_ABI_VERSION 1

/* Error codes (stable). */
#define BITNET_OK 0
#define BITNET_ERR_INTERNAL -1
#define BITNET_ERR_INVALID_ARGUMENT -2
#define BITNET_ERR_IO -3
#define BITNET_ERR_FORMAT -4
#define BITNET_ERR_UNSUPPORTED -5
#define BITNET_ERR_MODEL -6
#define BITNET_ERR_TOKENIZATION -7
#define BITNET_ERR_QUANTIZATION -8
#define BITNET_ERR_DEVICE -9
#define BITNET_ERR_CAPACITY -10
#define BITNET_ERR_MEMORY -11
#define BITNET_ERR_NUMERIC -12
#define BITNET_ERR_CANCELED -13
#define BITNET_ERR_CLOSED -14
#define BITNET_ERR_TIMEOUT -15
#define BITNET_ERR_BUFFER_TOO_SMALL -16
#define BITNET_ERR_FORKED -17

/* Device kinds. */
#define BITNET_DEVICE_AUTO 0
#define BITNET_DEVICE_CPU 1
#define BITNET_DEVICE_CUDA 2
#define BITNET_DEVICE_METAL 3

typedef struct bitnet_model bitnet_model;
typedef struct bitnet_session bitnet_session;
typedef struct bitnet_tokenizer bitnet_tokenizer;
typedef struct bitnet_sampler bitnet_sampler;
typedef struct bitnet_stream bitnet_stream;
typedef struct bitnet_quantizer bitnet_quantizer;

/* ---- devices ---------------------------------------------------------- */

typedef struct {
    int32_t kind; /* BITNET_DEVICE_* */
    int32_t index;
    char name[128];
    uint64_t total_memory; /* bytes; 0 if unknown */
    uint64_t free_memory;
    int32_t supports_f16;
    int32_t supports_bf16;
    int32_t supports_int8;
    int32_t max_threads;
    int32_t compute_major; /* CUDA compute capability; 0 otherwise */
    int32_t compute_minor;
    int32_t available;
    int32_t multiprocessors; /* a GPU's SM count; 0 for the CPU */
} bitnet_device_info;

/* Running totals of a device-aware quantizer (the seed's DeviceStats). */
typedef struct {
    char device_type[32]; /* "cuda+cpu-fallback" or "cpu" */
    int32_t gpu_active;   /* the GPU computes (present and not forced off) */
    uint64_t total_operations;
    uint64_t quantization_operations;
    uint64_t matmul_operations;
    uint64_t gpu_operations;
    uint64_t cpu_operations; /* fallbacks included */
    uint64_t fallbacks;
    double efficiency; /* gpu_operations / total_operations */
    double total_ms;
    char last_gpu_error[256];
    uint64_t gpu_memory_used;
    uint64_t gpu_memory_total;
} bitnet_device_stats;

/* ---- models ----------------------------------------------------------- */

/* Reports download progress of bitnet_model_load_pretrained: file is
 * "org/name@commit/path" (valid during the call), done and total are bytes
 * (total -1 when unknown). Called from a thread of the library (not
 * necessarily the caller's), at most about ten times a second per file
 * and once when a file is complete. Returning nonzero cancels the load,
 * which then fails with BITNET_ERR_CANCELED. */
typedef int32_t (*bitnet_progress_callback)(void *user, const char *file, int64_t done, int64_t total);

typedef struct {
    int32_t struct_size;
    int32_t n_threads;      /* 0: BITNET_NUM_THREADS, else every core */
    int32_t context_length; /* 0: the model's, at most 4096 */
    int32_t device_kind;    /* BITNET_DEVICE_*; AUTO picks the best present */
    int32_t device_index;
    const char *tokenizer_path; /* NULL: the tokenizer embedded in the file */
    /* Hub settings, read by bitnet_model_load_pretrained only (a struct_size
     * that ends before them means all NULL / 0). NULL: the environment as
     * the library read it at load (HF_ENDPOINT, else https://huggingface.co;
     * HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub;
     * HF_TOKEN). */
    const char *hub_endpoint;
    const char *hub_cache_dir;
    const char *hub_token;
    int32_t offline; /* 1: never touch the network (HF_HUB_OFFLINE=1 or BITNET_OFFLINE=1 also forbid it) */
    bitnet_progress_callback progress; /* download progress; may be NULL */
    void *progress_user;
} bitnet_model_config;

typedef struct {
    char name[256];
    char architecture[64];
    char weight_type[16];
    char backend[32];
    uint64_t num_parameters;
    uint64_t model_size; /* file size in bytes */
    double bits_per_weight;
    int32_t ternary;
    int32_t vocab_size;
    int32_t context_length; /* of the sessions */
    int32_t train_context_length;
    int32_t embedding_length;
    int32_t block_count;
    int32_t head_count;
    int32_t head_count_kv;
    int32_t feed_forward_length;
    int32_t n_threads;
    int32_t device_kind;
    int32_t device_index;
    double load_ms;
} bitnet_model_info;

/* ---- tokenizers ------------------------------------------------------- */

typedef struct {
    char kind[16];    /* "spm", "bpe", ... */
    char source[256]; /* where it was loaded from */
    int32_t vocab_size;
    int32_t bos_id; /* -1 when none */
    int32_t eos_id;
    int32_t eot_id;
    int32_t pad_id;
    int32_t add_bos;
} bitnet_tokenizer_info;

typedef struct {
    int32_t struct_size;
    const char *tokenizer_path; /* an exact path to use first; may be NULL */
    int32_t allow_mock;         /* a mock tokenizer as the last resort (never under BITNET_STRICT_TOKENIZERS=1) */
    int32_t offline;            /* never download (BITNET_OFFLINE=1 also forbids it) */
} bitnet_discovery_config;

/* ---- sampling --------------------------------------------------------- */

typedef struct {
    int32_t struct_size;
    float temperature; /* 0: greedy */
    int32_t top_k;     /* 0: off */
    float top_p;       /* 1: off */
    float min_p;       /* 0: off */
    float repetition_penalty; /* 1: off */
    int32_t repeat_last_n;
    uint64_t seed;
} bitnet_sampling_config;

/* ---- generation ------------------------------------------------------- */

typedef struct {
    int32_t struct_size;
    int32_t max_new_tokens;
    bitnet_sampling_config sampling;
    const char *const *stop_sequences; /* may be NULL */
    size_t n_stop_sequences;
    int32_t skip_special_tokens;
    int32_t add_bos;       /* 1, 0, or -1: as the vocabulary says */
    int32_t parse_special; /* match special-token texts in the prompt */
    int32_t ignore_eos;
    int32_t reuse_prefix; /* keep the cached part of the sequence that the new prompt repeats */
} bitnet_generation_config;

typedef struct {
    double tokenize_ms;
    double prefill_ms;
    double decode_ms;
    double total_ms;
    double prefill_tokens_per_second;
    double decode_tokens_per_second;
    double e2e_tokens_per_second;
    int32_t prompt_tokens;
    int32_t cached_prompt_tokens; /* reused from the session, not evaluated */
    int32_t generated_tokens;
    char stop_reason[32]; /* "max_tokens", "eos", "stop_sequence", ... */
} bitnet_metrics;

/* Receives each piece of text as it is produced (len bytes, not
 * NUL-terminated; may be 0 while a character or a possible stop sequence is
 * held back; token is -1 for the final flush). Returning nonzero stops
 * generation. */
typedef int32_t (*bitnet_piece_callback)(void *user, int32_t token, const char *text, size_t len);

/* The Go side of the library includes this header with BITNET_TYPES_ONLY
 * defined: cgo writes its own prototypes for the functions it exports, and
 * cannot express const. A test checks that the two sets of prototypes
 * agree. */
#ifndef BITNET_TYPES_ONLY

/* ---- library ---------------------------------------------------------- */

/* BITNET_ABI_VERSION of the library; callers compare it with the header's. */
int32_t bitnet_abi_version(void);
/* Version string of the library (static storage). */
const char *bitnet_version(void);
/* Code and message of the last failure on this thread (BITNET_OK and "" if
 * none). The message stays valid until the next failing call on this
 * thread. */
int32_t bitnet_last_error_code(void);
const char *bitnet_last_error(void);
/* Releases a string returned by the library. */
void bitnet_free_string(char *s);
/* Runs the command-line tool with argv (argv[0] is the program name);
 * returns its exit status. Output goes to the process's stdout/stderr. */
int32_t bitnet_cli_main(int32_t argc, char **argv);

/* ---- devices ---------------------------------------------------------- */

/* Writes the devices this machine offers (the CPU first) into buf. */
int32_t bitnet_devices(bitnet_device_info *buf, size_t cap, size_t *n_out);
/* Fills info for one device; BITNET_ERR_DEVICE when it is not present. */
int32_t bitnet_device_query(int32_t kind, int32_t index, bitnet_device_info *info);

/* A device-aware quantizer: BitNet b1.58 activation quantization and I2_S
 * matrix products on a GPU (device_kind CUDA, or AUTO: CUDA 0 when present)
 * with automatic CPU fallback on any GPU failure, or on the CPU. */
int32_t bitnet_quantizer_new(int32_t device_kind, int32_t device_index, bitnet_quantizer **out);
void bitnet_quantizer_free(bitnet_quantizer *q);
/* Makes every operation run on the CPU (nonzero) or lets the GPU work again. */
int32_t bitnet_quantizer_force_cpu_fallback(bitnet_quantizer *q, int32_t force);
/* Quantizes n_rows rows of cols floats to int8 per row (out_q: n_rows*cols,
 * out_scales: n_rows, s = 127/max|x|). */
int32_t bitnet_quantizer_quantize(bitnet_quantizer *q, const float *x, size_t n_rows, size_t cols, int8_t *out_q,
                                  float *out_scales);
/* out[t][r] = I2_S matrix (w: rows*cols/4 + 32 bytes) times n int8 rows. */
int32_t bitnet_quantizer_matmul_i2s(bitnet_quantizer *q, const uint8_t *w, size_t w_bytes, size_t rows, size_t cols,
                                    const int8_t *x, const float *scales, size_t n, float *out);
int32_t bitnet_quantizer_stats(bitnet_quantizer *q, bitnet_device_stats *stats);
int32_t bitnet_quantizer_reset_stats(bitnet_quantizer *q);

/* ---- models ----------------------------------------------------------- */

void bitnet_model_config_default(bitnet_model_config *cfg);

/* Loads a model: a GGUF file, a Hugging Face model folder (config.json,
 * safetensors weights, tokenizer files) or a .safetensors file beside its
 * config.json. cfg may be NULL (defaults). */
int32_t bitnet_model_load(const char *path, const bitnet_model_config *cfg, bitnet_model **out);
/* Loads a model from a Hugging Face hub repository ("org/name") at revision
 * (a branch, tag or commit; NULL or "" means "main"): its GGUF file when it
 * has one, else its safetensors checkpoint with config.json and tokenizer.
 * Files are looked up in, or downloaded into, the Hugging Face cache layout
 * shared with huggingface_hub (resumed, checksummed, locked); offline only
 * the cache is read. cfg may be NULL; its hub fields and progress callback
 * apply. Hub failures (not found, unauthorized, offline, network) give
 * BITNET_ERR_IO with the reason in the message. */
int32_t bitnet_model_load_pretrained(const char *repo_id, const char *revision, const bitnet_model_config *cfg,
                                     bitnet_model **out);
void bitnet_model_free(bitnet_model *model);
int32_t bitnet_model_get_info(const bitnet_model *model, bitnet_model_info *info);
/* All metadata of the file as a JSON object (free with bitnet_free_string). */
int32_t bitnet_model_metadata_json(const bitnet_model *model, char **out_json);
/* The model's tokenizer (a new handle; free it with bitnet_tokenizer_free). */
int32_t bitnet_model_tokenizer(const bitnet_model *model, bitnet_tokenizer **out);

/* ---- tokenizers ------------------------------------------------------- */

/* Loads a tokenizer: a GGUF file's vocabulary, tokenizer.json, or
 * tokenizer.model. */
int32_t bitnet_tokenizer_load(const char *path, bitnet_tokenizer **out);
void bitnet_tokenizer_free(bitnet_tokenizer *tok);
int32_t bitnet_tokenizer_get_info(const bitnet_tokenizer *tok, bitnet_tokenizer_info *info);
/* add_bos: 1 adds BOS, 0 does not, -1 follows the vocabulary. parse_special
 * matches special-token texts such as "<s>" in text. */
int32_t bitnet_tokenize(const bitnet_tokenizer *tok, const char *text, int32_t add_bos, int32_t parse_special,
                        int32_t *ids, size_t cap, size_t *n_out);
/* Writes the decoded text (not NUL-terminated) into buf. */
int32_t bitnet_detokenize(const bitnet_tokenizer *tok, const int32_t *ids, size_t n, int32_t skip_special,
                          char *buf, size_t cap, size_t *len_out);
/* The raw piece of one token. */
int32_t bitnet_token_to_piece(const bitnet_tokenizer *tok, int32_t id, char *buf, size_t cap, size_t *len_out);

void bitnet_discovery_config_default(bitnet_discovery_config *cfg);
/* Finds the tokenizer of a model file: an exact path, a tokenizer.json or
 * tokenizer.model next to the model, a cached copy, the one embedded in the
 * GGUF, or a download. *decision_json (may be NULL) describes the choice:
 * {"strategy": ..., "path": ..., "repo": ..., "reason": ..., "tried": [...]}. */
int32_t bitnet_tokenizer_discover(const char *model_path, const bitnet_discovery_config *cfg, bitnet_tokenizer **out,
                                  char **decision_json);

/* ---- sessions: a sequence and its KV cache ---------------------------- */

int32_t bitnet_session_new(bitnet_model *model, bitnet_session **out);
void bitnet_session_free(bitnet_session *session);
/* Appends tokens to the sequence (one batched pass). */
int32_t bitnet_session_eval(bitnet_session *session, const int32_t *ids, size_t n);
/* Logits after the last evaluated token, into buf (cap >= vocab size). */
int32_t bitnet_session_logits(bitnet_session *session, float *buf, size_t cap, size_t *n_out);
/* Logits after each of the n tokens, evaluated in one pass and appended to
 * the sequence: n rows of vocab size. */
int32_t bitnet_session_eval_all(bitnet_session *session, const int32_t *ids, size_t n, float *buf, size_t cap,
                                size_t *n_out);
/* The tokens of the sequence. */
int32_t bitnet_session_tokens(bitnet_session *session, int32_t *ids, size_t cap, size_t *n_out);
/* Keeps the first n tokens of the sequence. */
int32_t bitnet_session_truncate(bitnet_session *session, size_t n);
int32_t bitnet_session_reset(bitnet_session *session);

/* ---- sampling --------------------------------------------------------- */

void bitnet_sampling_config_default(bitnet_sampling_config *cfg);
int32_t bitnet_sampler_new(const bitnet_sampling_config *cfg, bitnet_sampler **out);
void bitnet_sampler_free(bitnet_sampler *sampler);
/* Samples a token from n logits; history (may be NULL) feeds the
 * repetition penalty. NaN logits count as -inf; BITNET_ERR_NUMERIC when no
 * logit is finite. */
int32_t bitnet_sampler_sample(bitnet_sampler *sampler, const float *logits, size_t n, const int32_t *history,
                              size_t n_history, int32_t *out_token);

/* ---- generation ------------------------------------------------------- */

void bitnet_generation_config_default(bitnet_generation_config *cfg);

/* Tokenizes prompt, appends it to the session's sequence (or, with
 * reuse_prefix, keeps the part of the sequence the prompt repeats and
 * replaces the rest) and generates. An empty prompt continues the sequence.
 * The whole text is returned in *out_text (may be NULL); metrics (may be
 * NULL) describe the call. With a callback (may be NULL) the text is
 * streamed. */
int32_t bitnet_generate(bitnet_session *session, const char *prompt, const bitnet_generation_config *cfg,
                        bitnet_piece_callback callback, void *user, char **out_text, bitnet_metrics *metrics);

/* Pull-style streaming: start (tokenizes and evaluates the prompt as
 * bitnet_generate does), then call next until *done is set. Each next
 * produces one token's worth of text into buf (NUL-terminated if room;
 * when cap is too small it returns BITNET_ERR_BUFFER_TOO_SMALL with the
 * needed length in *len_out and keeps the piece for the next call). A stream
 * holds its session until freed; freeing a stream before it is done stops
 * generation. */
int32_t bitnet_stream_start(bitnet_session *session, const char *prompt, const bitnet_generation_config *cfg,
                            bitnet_stream **out);
int32_t bitnet_stream_next(bitnet_stream *stream, int32_t *token, char *buf, size_t cap, size_t *len_out,
                           int32_t *done);
/* The metrics of the stream; asking before it is done stops it (stop
 * reason "stopped"). */
int32_t bitnet_stream_metrics(bitnet_stream *stream, bitnet_metrics *metrics);
void bitnet_stream_free(bitnet_stream *stream);

#endif /* BITNET_TYPES_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* BITNET_H */
