// The shared op and activation codes, for Swift and C. The table itself lives beside the
// shaders (Shaders/common/tensor_codes.h), where glslang finds it; an installed copy sits
// next to this header.
#if __has_include("tensor_codes.h")
#include "tensor_codes.h"
#else
#include "../../../Shaders/common/tensor_codes.h"
#endif
