// LinearModel's bundle files.
#include "core/ml/linear_model.hpp"

#include "core/data/state.hpp"

namespace mer {

void LinearModel::save(const std::string& dir) const {
    scaler.save(dir);
    save_matrix(dir, "intercept", intercept);
    save_matrix(dir, "weights", weights);
}

void LinearModel::load(const std::string& dir) {
    scaler.load(dir);
    weights = load_matrix(dir, "weights", scaler.mean.cols(), kAnySize);
    intercept = load_matrix(dir, "intercept", 1, weights.cols());
}

}  // namespace mer
