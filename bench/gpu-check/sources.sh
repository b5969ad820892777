# The LibTorch subset of mer that device-run.sh builds (sourced by both scripts).
core_sources=(core/error.cpp core/plugin/abi.cpp core/plugin/registry.cpp core/plugin/state.cpp core/graph/schema.cpp
              core/data/npy.cpp core/data/song_table.cpp core/run/files.cpp core/run/heap.cpp core/eval/metrics.cpp)
models=(cnn se_temporal_cnn cnn_gru cnn_gru_attention)
