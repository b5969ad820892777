// A library with a valid ABI tag but no MER_PLUGIN() declaration: the host
// must refuse it for the missing factory and metadata symbols.
#include "core/plugin/abi.hpp"

extern "C" __attribute__((used, section(".mer_abi"))) const char mer_plugin_abi_tag[] = MER_ABI_TAG_STRING;

extern "C" __attribute__((visibility("default"))) int not_a_factory() {
    return 42;
}
