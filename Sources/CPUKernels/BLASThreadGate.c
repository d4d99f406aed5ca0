// OpenBLAS keeps one thread count for the whole process (openblas_set_num_threads), and its
// sgemm results depend on it: two threads split the product differently from one, and the
// rounding differs in the last bit. Every CPU device has its own count, so before this gate a
// device made with `threads: 1` silently switched every other device's products to one
// thread, and the same product could round differently from one call to the next.
//
// The gate lets callers with the same count run together and makes a caller with another
// count wait until they are done, then sets its count. A caller with a different count that
// is waiting keeps new callers of the running count out, so neither side starves.
#include "CPUKernels.h"

#include <pthread.h>

static struct {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int threads;    // the count OpenBLAS was last set to (0: never set by the gate)
    long active;    // calls running under `threads`
    long waiting;   // callers waiting for another count
} gate = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .idle = PTHREAD_COND_INITIALIZER,
};

void te_blas_gate_enter(int threads, te_blas_set_threads_function set_threads) {
    pthread_mutex_lock(&gate.lock);
    if (gate.active > 0 && (gate.threads != threads || gate.waiting > 0)) {
        gate.waiting += 1;
        while (gate.active > 0) pthread_cond_wait(&gate.idle, &gate.lock);
        gate.waiting -= 1;
    }
    if (gate.threads != threads) {
        set_threads(threads);
        gate.threads = threads;
    }
    gate.active += 1;
    pthread_mutex_unlock(&gate.lock);
}

void te_blas_gate_leave(void) {
    pthread_mutex_lock(&gate.lock);
    gate.active -= 1;
    if (gate.active == 0) pthread_cond_broadcast(&gate.idle);
    pthread_mutex_unlock(&gate.lock);
}
