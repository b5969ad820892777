# A benchmark nobody runs rots (mer-bench-handcrafted aborted at start for
# weeks after a parameter was added). Every benchmark of bench/ runs here on
# tiny input, a few seconds each, through bench/smoke.sh: the case fails when
# the benchmark exits non-zero or prints no figure (--expect: the figure's
# unit after a number). The figures themselves mean nothing at this size.
# mer-bench-handcrafted-smoke (tests/CMakeLists.txt) and bench-python-smoke
# (python/CMakeLists.txt) are the two older cases. Included at the end of
# tests/CMakeLists.txt.
set(bench_dir ${PROJECT_SOURCE_DIR}/bench)
set(python_has "/usr/bin/python3 -c")

# add_bench_smoke(NAME SMOKE_ARGS...): bench/smoke.sh SMOKE_ARGS as ctest case NAME; exit 77 (a
# --skip-unless test failed) counts as skipped.
function(add_bench_smoke name)
  add_test(NAME ${name} COMMAND ${bench_dir}/smoke.sh ${ARGN})
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS bench-smoke
    ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
endfunction()

# Through bench/boost/run.sh, with this build's library as BEFORE_LIB too:
# both of the script's passes, each with its quiet and its loaded pass.
add_bench_smoke(mer-bench-boost-smoke
  --expect "^== before" --expect "^beside 1 busy processes +inner fit +[0-9.]+ s"
    --expect "refit/inner +[0-9.]+"
    -- env MER_BUILD_DIR=${CMAKE_BINARY_DIR} ${bench_dir}/boost/run.sh ${CMAKE_BINARY_DIR}/lib
    -- --songs 200 --features 20 --rounds 5 --threads 1 --hogs 1)

# The per-stage profile of the features node (linux-perf), on one song; skipped
# where perf cannot record (not installed, or perf_event_paranoid forbids it).
add_bench_smoke(bench-features-profile-smoke
  --skip-unless "perf stat -x, -e task-clock true"
    --expect "^\\| · STFT: frame FFTs, power and magnitude \\| [0-9]+ % \\| [0-9.]+ \\|"
    --expect "^\\| the node \\(song_vector\\), 1 thread \\| 100 % \\| [0-9.]+ \\|"
    -- env MER_BUILD_DIR=${CMAKE_BINARY_DIR} CORPUS=${CMAKE_BINARY_DIR}/bench-smoke/handcrafted-1
    ${bench_dir}/features/profile.sh 1)

add_bench_smoke(bench-predict-smoke
  --expect "predict: 5 files of 5 s .* [0-9.]+ files/s"
    -- env MER_BUILD_DIR=${CMAKE_BINARY_DIR} SONG_SECONDS=5 ${bench_dir}/bench_predict.sh 5)

# mer's side only (make_table.py and mer-run on gridsearch.yaml), which needs
# numpy alone; the comparison with GridSearchCV where scikit-learn is installed.
add_bench_smoke(bench-gridsearch-smoke
  --skip-unless "${python_has} 'import numpy'"
    --expect "mer-run: [0-9.]+ s wall" --expect "grid search in fold 0: 12 candidates"
    -- env MER_BUILD_DIR=${CMAKE_BINARY_DIR} MER_ONLY=1 SONGS=60 FEATURES=10 JOBS=1 ${bench_dir}/gridsearch/run.sh)
add_bench_smoke(bench-gridsearch-sklearn-smoke
  --skip-unless "${python_has} 'import numpy, sklearn, xgboost'"
    --expect "mer-run: [0-9.]+ s wall" --expect "GridSearchCV"
    -- env MER_BUILD_DIR=${CMAKE_BINARY_DIR} SONGS=60 FEATURES=10 JOBS=1 ${bench_dir}/gridsearch/run.sh)

add_bench_smoke(bench-report-smoke
  --skip-unless "${python_has} 'import json'" --skip-unless "command -v chromium"
    --expect "build: [0-9.]+ s \\(mer-run report\\)" --expect "page: [0-9]+ bytes, [0-9]+ figures"
    --expect "render 1: data-render-ms=\"[0-9.]+\""
    -- env SONGS=50 EPOCHS=3 RENDERS=1 ${bench_dir}/report/run.sh ${CMAKE_BINARY_DIR})

# The fuzz build (clang, sanitizers) takes many minutes: run.sh --check checks
# what it can without it (targets, seeds, replay.sh against stand-in fuzzers).
add_bench_smoke(bench-fuzz-smoke
  --expect "fuzz check: [0-9]+ targets" --expect "true: [0-9]+ inputs, 0 crashing"
    -- ${bench_dir}/fuzz/run.sh --check)

# The kit is only of use on a GPU machine, and packing it takes a minute:
# make-kit.sh --check checks that everything it would pack exists.
add_bench_smoke(bench-gpu-check-smoke
  --expect "kit inputs: [0-9]+ files \\([0-9]+ LibTorch plugins\\), 0 missing"
    -- sh -c "bash -n ${bench_dir}/gpu-check/device-run.sh && MER_BUILD_DIR=${CMAKE_BINARY_DIR} ${bench_dir}/gpu-check/make-kit.sh --check")

if(MER_WITH_TORCH)
  set(python_torch "${python_has} 'import torch, numpy'")

  # The seeded test checkpoint (tests/panns/make_checkpoint.py, 330 MB, 5 s),
  # written once for the two cases that run CNN14 (the speed does not depend
  # on the values) and removed after them. Without python3-torch it writes
  # nothing, and those cases skip.
  set(cnn14 ${CMAKE_BINARY_DIR}/bench-smoke/cnn14.pth)
  add_test(NAME bench-smoke-cnn14-checkpoint
    COMMAND sh -c "${python_torch} 2>/dev/null || exit 0; mkdir -p ${CMAKE_BINARY_DIR}/bench-smoke && /usr/bin/python3 ${PROJECT_SOURCE_DIR}/tests/panns/make_checkpoint.py ${cnn14}")
  add_test(NAME bench-smoke-cnn14-checkpoint-cleanup COMMAND ${CMAKE_COMMAND} -E rm -f ${cnn14})
  set_tests_properties(bench-smoke-cnn14-checkpoint PROPERTIES FIXTURES_SETUP bench_smoke_cnn14 LABELS bench-smoke)
  set_tests_properties(bench-smoke-cnn14-checkpoint-cleanup PROPERTIES FIXTURES_CLEANUP bench_smoke_cnn14
    LABELS bench-smoke)

  add_bench_smoke(mer-bench-panns-smoke
    --skip-unless "test -f ${cnn14}"
    --expect "mer \\(inference copy\\) +[0-9.]+ s per batch +[0-9.]+× real time"
    --expect "module as PyTorch runs it +[0-9.]+ s per batch .* songs/s"
    -- $<TARGET_FILE:mer-bench-panns> --checkpoint ${cnn14} --threads 1 --batches 1 --batch 1)
  set_tests_properties(mer-bench-panns-smoke PROPERTIES FIXTURES_REQUIRED bench_smoke_cnn14)

  # mer-bench-deep and the same models in PyTorch, through bench/deep/run.sh.
  add_bench_smoke(mer-bench-deep-smoke
    --skip-unless "${python_torch}"
    --expect "^regressor\\.cnn +train [0-9.]+ s [0-9.]+ chunks/s"
    --expect "^[a-z_.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$"
    -- env MER_BUILD_DIR=${CMAKE_BINARY_DIR} ${bench_dir}/deep/run.sh --songs 1 --threads 1 --batch 8)

  # The heaviest: CNN14 exported and run by mer twice and by Python, the
  # HuBERT-base-sized model made (its rows left out: 15 s more), two training
  # runs (about 25 s).
  add_bench_smoke(bench-torchscript-smoke
    --skip-unless "${python_has} 'import torch, torchaudio, numpy'" --skip-unless "test -f ${cnn14}"
    --expect "^panns_cnn14-native +[0-9.]+ s per 5-s song" --expect "^torchscript-cnn14 +[0-9.]+ s per 5-s song"
    --expect "^python, mer's heap: +[0-9.]+ s per song" --expect "^regressor\\.torchscript +train [0-9.]+ s [0-9.]+ chunks/s"
    -- env MER_BUILD_DIR=${CMAKE_BINARY_DIR} SONG_SECONDS=5 TRAIN_SONGS=1 HEAPS=mer HUBERT=0 CNN14_CHECKPOINT=${cnn14}
       ${bench_dir}/torchscript/run.sh 2 1)
  set_tests_properties(bench-torchscript-smoke PROPERTIES FIXTURES_REQUIRED bench_smoke_cnn14)
endif()

# librosa_features.py times librosa on Debian with soxr_libsoxr.py standing in
# for python-soxr: a 440 Hz sine resampled 44.1 -> 22.05 kHz by it is the sine
# at 22.05 kHz (away from the edges), of the length soxr gives.
add_test(NAME bench-soxr-stand-in-resamples
  COMMAND /usr/bin/python3 -c "
import sys; sys.path.insert(0, '${bench_dir}/python')
import numpy as np, soxr_libsoxr
y = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100).astype(np.float32)
z = soxr_libsoxr.resample(y, 44100, 22050, 'soxr_hq')
expected = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
error = float(np.abs(z[1000:-1000] - expected[1000:-1000]).max())
print(len(z), 'samples, largest error', error)
assert len(z) == 22050 and error < 1e-3, (len(z), error)
")
set_tests_properties(bench-soxr-stand-in-resamples PROPERTIES LABELS bench-smoke ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
