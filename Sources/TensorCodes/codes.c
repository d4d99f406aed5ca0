// TensorCodes is a header-only C module (include/TensorCodes.h); SwiftPM needs one source.
#include "TensorCodes.h"
