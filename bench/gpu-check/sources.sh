# The LibTorch subset of mer that device-run.sh builds (sourced by both scripts).
# The models are not listed here: make-kit.sh takes every plugin that links
# LibTorch from the build (build/torch-plugins.txt, written by CMake), test-only
# ones included, into the kit's torch-plugins.txt (name|schema source|sources).
core_sources=(core/error.cpp core/plugin/abi.cpp core/plugin/registry.cpp core/data/state.cpp core/graph/schema.cpp
              core/data/npy.cpp core/data/song_table.cpp core/base/files.cpp core/base/heap.cpp core/eval/metrics.cpp
              core/checkpoint/state_dict_pickle.cpp core/data/dynamic.cpp)
torch_sources=(core/torch/chunk_regressor.cpp core/torch/cnn14.cpp core/torch/sequence_regressor.cpp)
