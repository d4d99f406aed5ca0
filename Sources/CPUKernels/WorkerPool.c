// A pool of worker threads that spin for a short while after each job before they sleep, so
// back-to-back parallel ops (an activation after a matmul, the ops of a training step) start
// without waking a thread: on the 2-core hosts measured, waking a parked thread costs 40-55 us,
// as much as a 1024 x 1024 activation takes. OpenMP runtimes (PyTorch's) do the same.
//
// One job at a time: a caller that finds the pool busy (another thread's job, or a nested
// call from inside a chunk) gets 0 back and runs its chunks some other way.
//
// The job is published in one 64-bit word, `ticket`: generation (bits 40-63), chunk count
// (20-39) and the next unclaimed chunk (0-19). Claiming a chunk is a compare-and-swap on that
// word, so a worker can never claim a chunk of a job it did not see start, and reads the job's
// function only after it holds a chunk (while the job cannot end).
#include "CPUKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define TE_POOL_MAX_WORKERS 63
#define TE_CHUNK_BITS 20
#define TE_CHUNK_MASK ((UINT64_C(1) << TE_CHUNK_BITS) - 1)
#define TE_GENERATION_SHIFT (2 * TE_CHUNK_BITS)

static struct {
    _Atomic uint64_t ticket;
    _Atomic(te_chunk_function) function;
    _Atomic(void *) context;
    _Atomic long helpers;        // workers 0..<helpers take part in the current job
    _Atomic long pending;        // chunks of the current job not yet finished
    _Atomic int busy;            // a caller owns the pool
    _Atomic int sleepers;        // workers parked on `wake`
    _Atomic long spin_ns;        // how long an idle worker spins before it parks
    _Atomic unsigned long rests; // te_worker_pool_rest calls: a spinning worker parks at once
    int started;                 // workers created (only the owning caller changes it)
    pthread_mutex_t lock;
    pthread_cond_t wake;
} pool = {
    .spin_ns = 200000,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

static uint64_t generation_of(uint64_t ticket) { return ticket >> TE_GENERATION_SHIFT; }

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// Claims and runs chunks of job `generation` until none is left (or a later job started).
static void run_chunks(uint64_t generation) {
    uint64_t ticket = atomic_load_explicit(&pool.ticket, memory_order_acquire);
    for (;;) {
        if (generation_of(ticket) != generation) return;
        uint64_t count = (ticket >> TE_CHUNK_BITS) & TE_CHUNK_MASK;
        uint64_t chunk = ticket & TE_CHUNK_MASK;
        if (chunk >= count) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.ticket, &ticket, ticket + 1, memory_order_acq_rel,
                                                   memory_order_acquire)) {
            continue;   // `ticket` now holds the current word
        }
        te_chunk_function function = atomic_load_explicit(&pool.function, memory_order_relaxed);
        void *context = atomic_load_explicit(&pool.context, memory_order_relaxed);
        function(context, (long)chunk);
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
        ticket = atomic_load_explicit(&pool.ticket, memory_order_acquire);
    }
}

static void *worker_main(void *argument) {
    long index = (long)(intptr_t)argument;
    uint64_t seen = generation_of(atomic_load_explicit(&pool.ticket, memory_order_acquire));
    for (;;) {
        // Spin (yielding now and then, so a thread that needs this core gets it), then park.
        long deadline = now_ns() + atomic_load_explicit(&pool.spin_ns, memory_order_relaxed);
        unsigned long rests = atomic_load_explicit(&pool.rests, memory_order_relaxed);
        uint64_t generation = seen;
        for (unsigned spins = 0;; spins++) {
            generation = generation_of(atomic_load_explicit(&pool.ticket, memory_order_acquire));
            if (generation != seen) break;
            if (atomic_load_explicit(&pool.rests, memory_order_relaxed) != rests) break;
            cpu_relax();
            if ((spins & 255u) == 255u) {
                if (now_ns() > deadline) break;
                sched_yield();
            }
        }
        if (generation == seen) {
            pthread_mutex_lock(&pool.lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while ((generation = generation_of(atomic_load(&pool.ticket))) == seen) {
                pthread_cond_wait(&pool.wake, &pool.lock);
            }
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = generation;
        if (index < atomic_load_explicit(&pool.helpers, memory_order_acquire)) run_chunks(generation);
    }
    return NULL;
}

void te_worker_pool_set_spin(long nanoseconds) {
    atomic_store_explicit(&pool.spin_ns, nanoseconds < 0 ? 0 : nanoseconds, memory_order_relaxed);
}

void te_worker_pool_rest(void) {
    atomic_fetch_add_explicit(&pool.rests, 1, memory_order_relaxed);
}

int te_worker_pool_run(long chunks, int threads, te_chunk_function function, void *context) {
    if (chunks < 1 || chunks > (long)TE_CHUNK_MASK || threads < 2 || function == NULL) return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&pool.busy, &expected, 1)) return 0;
    long helpers = threads - 1 < TE_POOL_MAX_WORKERS ? threads - 1 : TE_POOL_MAX_WORKERS;
    if (helpers > chunks - 1) helpers = chunks - 1;
    if (pool.started == 0) {
        const char *spin = getenv("TENSOR_CPU_SPIN_US");
        if (spin != NULL && *spin != 0) te_worker_pool_set_spin(atol(spin) * 1000L);
    }
    while (pool.started < helpers) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)pool.started);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        pool.started += 1;
    }
    if (helpers > pool.started) helpers = pool.started;

    atomic_store_explicit(&pool.function, function, memory_order_relaxed);
    atomic_store_explicit(&pool.context, context, memory_order_relaxed);
    atomic_store_explicit(&pool.helpers, helpers, memory_order_relaxed);
    atomic_store_explicit(&pool.pending, chunks, memory_order_relaxed);
    uint64_t generation = generation_of(atomic_load_explicit(&pool.ticket, memory_order_relaxed)) + 1;
    uint64_t ticket = (generation << TE_GENERATION_SHIFT) | ((uint64_t)chunks << TE_CHUNK_BITS);
    atomic_store(&pool.ticket, ticket);   // sequentially consistent: pairs with the sleepers count
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_chunks(generation);
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0) cpu_relax();
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
    return 1;
}
