// The binary contract between mer-run and its plugins. Plugins and the host
// exchange C++ objects (Eigen matrices, std::string, nlohmann::json, later
// LibTorch tensors), so both sides must agree on more than a version number:
// the tag below also names the compiler, the libstdc++ string ABI, the Boost
// version and, for plugins that link LibTorch (through libmer_torch, which
// defines MER_PLUGIN_TORCH_VERSION), the LibTorch and CUDA versions; other
// plugins say torch=none and load whatever LibTorch the host was built with.
// Every plugin library stores the tag in its own ELF section, `.mer_abi`,
// which the host reads from the file before it loads the library, so a
// mismatched plugin never runs any code.
//
// Bump MER_PLUGIN_ABI whenever an interface under core/plugin/ changes, or a
// class under core/torch/ that LibTorch plugins derive from (ChunkRegressor,
// ChunkNet: their virtual functions are the plugins' vtables). A new
// capability is not an interface change (capabilities.hpp), nor a new extension
// interface (regressor.hpp).
#pragma once

#include <boost/version.hpp>
#include <string>

#define MER_PLUGIN_ABI 16

#ifndef MER_PLUGIN_TORCH_VERSION
#define MER_PLUGIN_TORCH_VERSION "none"
#endif
#ifndef MER_PLUGIN_CUDA_VERSION
#define MER_PLUGIN_CUDA_VERSION "none"
#endif

#define MER_ABI_STRINGIFY_(x) #x
#define MER_ABI_STRINGIFY(x) MER_ABI_STRINGIFY_(x)

// "mer-abi=11;compiler=GCC 12.2.0;cxx11-abi=1;torch=none;cuda=none;boost=1_74"
#define MER_ABI_TAG_WITH(TORCH, CUDA)                                                                          \
    "mer-abi=" MER_ABI_STRINGIFY(MER_PLUGIN_ABI) ";compiler=GCC " __VERSION__ ";cxx11-abi=" MER_ABI_STRINGIFY( \
        _GLIBCXX_USE_CXX11_ABI) ";torch=" TORCH ";cuda=" CUDA ";boost=" BOOST_LIB_VERSION
#define MER_ABI_TAG_STRING MER_ABI_TAG_WITH(MER_PLUGIN_TORCH_VERSION, MER_PLUGIN_CUDA_VERSION)

namespace mer {

// The tag this host (libmer_core) was built with, naming the build's LibTorch.
const char* host_abi_tag();

// The LibTorch and CUDA versions this build of mer found ("none": no CUDA).
const char* build_torch_version();
const char* build_cuda_version();
bool build_has_cuda();

// Compares a plugin's tag with the host's. Returns "" when they agree, else
// a sentence naming each differing field with both values. The torch and
// cuda fields count only for plugins that link LibTorch (torch != none).
std::string abi_mismatch(const std::string& plugin_tag, const std::string& host_tag);

}  // namespace mer
