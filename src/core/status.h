// Status / Result<T> are part of the public API; this forwards to include/bitnet/status.h.
#pragma once
#include "bitnet/status.h"
