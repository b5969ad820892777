// Feature extraction and training allocate and free the same large buffers
// again and again (a song's spectrograms, a batch's activations). glibc
// hands blocks that large straight back to the kernel, and the next song or
// batch then faults its pages in one by one: 7 % of extraction time, a third
// of training time. keep_large_blocks_in_heap() raises glibc's mmap and trim
// thresholds for the whole process, once; peak memory does not change.
#pragma once

namespace mer {

void keep_large_blocks_in_heap();

}  // namespace mer
