#include "core/base/heap.hpp"

#include <malloc.h>

namespace mer {

void keep_large_blocks_in_heap() {
    static const bool done = [] {
        mallopt(M_MMAP_THRESHOLD, 512 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        return true;
    }();
    (void)done;
}

}  // namespace mer
