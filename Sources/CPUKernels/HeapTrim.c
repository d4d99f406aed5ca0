// Returning freed heap memory to the system (glibc's malloc_trim), for
// CPUDevice.releaseCachedMemory: freed blocks in the middle of the heap stay resident
// until trimmed.
#include "CPUKernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int te_release_free_heap(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}
