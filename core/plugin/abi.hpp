// The binary contract between mer-run and its plugins. Plugins and the host
// exchange C++ objects (Eigen matrices, std::string, nlohmann::json, later
// LibTorch tensors), so both sides must agree on more than a version number:
// the tag below also names the compiler, the libstdc++ string ABI and the
// LibTorch, CUDA and Boost versions. Every plugin library stores the tag in
// its own ELF section, `.mer_abi`, which the host reads from the file before
// it loads the library, so a mismatched plugin never runs any code.
//
// Bump MER_PLUGIN_ABI whenever an interface under core/plugin/ changes.
#pragma once

#include <boost/version.hpp>
#include <string>

#define MER_PLUGIN_ABI 10

#ifndef MER_TORCH_VERSION
#define MER_TORCH_VERSION "none"
#endif
#ifndef MER_CUDA_VERSION
#define MER_CUDA_VERSION "none"
#endif

#define MER_ABI_STRINGIFY_(x) #x
#define MER_ABI_STRINGIFY(x) MER_ABI_STRINGIFY_(x)

// "mer-abi=1;compiler=GCC 12.2.0;cxx11-abi=1;torch=none;cuda=none;boost=1_74"
#define MER_ABI_TAG_STRING                                                                  \
    "mer-abi=" MER_ABI_STRINGIFY(MER_PLUGIN_ABI) ";compiler=GCC " __VERSION__               \
    ";cxx11-abi=" MER_ABI_STRINGIFY(_GLIBCXX_USE_CXX11_ABI) ";torch=" MER_TORCH_VERSION     \
    ";cuda=" MER_CUDA_VERSION ";boost=" BOOST_LIB_VERSION

namespace mer {

// The tag this host (libmer_core) was built with.
const char* host_abi_tag();

// Compares a plugin's tag with the host's. Returns "" when they agree, else
// a sentence naming each differing field with both values.
std::string abi_mismatch(const std::string& plugin_tag, const std::string& host_tag);

}  // namespace mer
