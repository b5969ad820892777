// The embedding: the input reduced and turned into affinities, the 2-D
// coordinates initialised and optimised; the exact gradient and Barnes–Hut's.
#include "plugins/transform.tsne/tsne.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "plugins/transform.tsne/quadtree.hpp"

namespace mer::tsne {

namespace {

// Below this a probability counts as this (scikit-learn's MACHINE_EPSILON).
constexpr double kTiny = std::numeric_limits<double>::epsilon();

struct Embedding {
    Eigen::VectorXd x, y;
};

// The gradient parts every pair contributes to: attraction Σ_j p_ij w_ij
// (y_i − y_j), repulsion Σ_j w_ij² (y_i − y_j), and Z = Σ_{i≠j} w_ij.
struct Forces {
    Eigen::ArrayXd attract_x, attract_y, repel_x, repel_y;
    double z = 0;

    explicit Forces(Eigen::Index n)
        : attract_x(Eigen::ArrayXd::Zero(n)),
          attract_y(Eigen::ArrayXd::Zero(n)),
          repel_x(Eigen::ArrayXd::Zero(n)),
          repel_y(Eigen::ArrayXd::Zero(n)) {}
};

// Every pair once (i < j), both ends updated: half the kernel evaluations of
// a full sweep, in a fixed order, so a seed gives one result.
Forces exact_forces(const Eigen::MatrixXd& p, const Embedding& e) {
    const Eigen::Index n = e.x.size();
    Forces f(n);
    Eigen::ArrayXd dx(n), dy(n), w(n), pw(n), ww(n);
    for (Eigen::Index i = 0; i + 1 < n; ++i) {
        const Eigen::Index s = i + 1, m = n - s;
        auto DX = dx.head(m), DY = dy.head(m), W = w.head(m), PW = pw.head(m), WW = ww.head(m);
        DX = e.x(i) - e.x.segment(s, m).array();
        DY = e.y(i) - e.y.segment(s, m).array();
        W = (1.0 + DX.square() + DY.square()).inverse();
        PW = p.col(i).segment(s, m).array() * W;
        WW = W.square();
        f.attract_x(i) += (PW * DX).sum();
        f.attract_y(i) += (PW * DY).sum();
        f.repel_x(i) += (WW * DX).sum();
        f.repel_y(i) += (WW * DY).sum();
        f.attract_x.segment(s, m) -= PW * DX;
        f.attract_y.segment(s, m) -= PW * DY;
        f.repel_x.segment(s, m) -= WW * DX;
        f.repel_y.segment(s, m) -= WW * DY;
        f.z += 2 * W.sum();
    }
    return f;
}

double exact_kl(const Eigen::MatrixXd& p, const Embedding& e) {
    const Eigen::Index n = e.x.size();
    double z = 0;
    for (Eigen::Index i = 0; i + 1 < n; ++i) {
        const Eigen::Index s = i + 1, m = n - s;
        z += 2 * (1.0 + (e.x(i) - e.x.segment(s, m).array()).square() + (e.y(i) - e.y.segment(s, m).array()).square())
                     .inverse()
                     .sum();
    }
    double kl = 0;
    for (Eigen::Index i = 0; i + 1 < n; ++i)
        for (Eigen::Index j = i + 1; j < n; ++j) {
            const double pij = p(j, i);
            if (pij <= 0) continue;
            const double dx = e.x(i) - e.x(j), dy = e.y(i) - e.y(j);
            const double q = 1 / (1 + dx * dx + dy * dy) / z;
            kl += 2 * pij * std::log(std::max(pij, kTiny) / std::max(q, kTiny));
        }
    return kl;
}

// Attraction over P's non-zeros; repulsion and Z from the quadtree.
Forces barnes_hut_forces(const Eigen::SparseMatrix<double>& p, const Embedding& e, double theta) {
    const Eigen::Index n = e.x.size();
    Forces f(n);
    const QuadTree tree(e.x, e.y);
    for (Eigen::Index i = 0; i < n; ++i) {
        tree.repulsion(i, theta, f.repel_x(i), f.repel_y(i), f.z);
        for (Eigen::SparseMatrix<double>::InnerIterator it(p, i); it; ++it) {
            const Eigen::Index j = it.row();
            const double dx = e.x(i) - e.x(j), dy = e.y(i) - e.y(j);
            const double pw = it.value() / (1 + dx * dx + dy * dy);
            f.attract_x(i) += pw * dx;
            f.attract_y(i) += pw * dy;
        }
    }
    return f;
}

double barnes_hut_kl(const Eigen::SparseMatrix<double>& p, const Embedding& e, double theta) {
    const Forces f = barnes_hut_forces(p, e, theta);
    double kl = 0;
    for (Eigen::Index i = 0; i < p.outerSize(); ++i)
        for (Eigen::SparseMatrix<double>::InnerIterator it(p, i); it; ++it) {
            const double dx = e.x(i) - e.x(it.row()), dy = e.y(i) - e.y(it.row());
            const double q = 1 / (1 + dx * dx + dy * dy) / f.z;
            kl += it.value() * std::log(std::max(it.value(), kTiny) / std::max(q, kTiny));
        }
    return kl;
}

// Scikit-learn's initialisations: the first two principal components scaled
// so the first has standard deviation 1e-4, or Gaussian noise of that size.
Embedding initial(const Eigen::MatrixXd& centred, const Settings& s, const Observer& observer) {
    Eigen::MatrixXd start;
    if (s.pca_init) {
        start = principal_scores(centred, 2, s.seed);
        const double sd =
            start.cols() == 2 ? std::sqrt((start.col(0).array() - start.col(0).mean()).square().mean()) : 0.0;
        if (sd > 0)
            start *= 1e-4 / sd;
        else if (observer.log)
            observer.log("the points have fewer than two distinct principal components; random initialisation");
    }
    if (start.cols() != 2 || !(start.norm() > 0)) start = 1e-4 * gaussian_matrix(centred.rows(), 2, s.seed);
    return {start.col(0), start.col(1)};
}

}  // namespace

Result embed(const Eigen::MatrixXd& points, const Settings& s, const Observer& observer) {
    const Eigen::Index n = points.rows();
    if (!perplexity_fits(s.perplexity, n))
        throw Error(fmt::format("perplexity {:g} needs more than 3 × {:g} = {:g} points; there are {}", s.perplexity,
                                s.perplexity, 3 * s.perplexity, n));
    Result result;
    result.barnes_hut = n > s.exact_max_points;
    result.learning_rate =
        s.learning_rate > 0 ? s.learning_rate : std::max(static_cast<double>(n) / s.early_exaggeration / 4, 50.0);

    // Distances are what matter: centre, and keep the leading principal
    // components when asked for fewer than the data have.
    Eigen::MatrixXd x = points.rowwise() - points.colwise().mean();
    if (s.pca_dims > 0 && s.pca_dims < std::min(x.rows(), x.cols())) x = principal_scores(x, s.pca_dims, s.seed);
    result.input_dims = x.cols();

    Eigen::MatrixXd dense;
    Eigen::SparseMatrix<double> sparse;
    if (result.barnes_hut)
        sparse = sparse_affinities(x, s.perplexity, result.mean_sigma);
    else
        dense = dense_affinities(x, s.perplexity, result.mean_sigma);
    Embedding e = initial(x, s, observer);
    x.resize(0, 0);

    const auto kl = [&] { return result.barnes_hut ? barnes_hut_kl(sparse, e, s.theta) : exact_kl(dense, e); };
    Eigen::ArrayXd update_x = Eigen::ArrayXd::Zero(n), update_y = Eigen::ArrayXd::Zero(n);
    Eigen::ArrayXd gain_x = Eigen::ArrayXd::Ones(n), gain_y = Eigen::ArrayXd::Ones(n);
    // The reference implementation's gains: up by 0.2 while the gradient's
    // sign differs from the last step's, else down by a fifth; at least 0.01.
    const auto step = [&](Eigen::ArrayXd& gain, Eigen::ArrayXd& update, const Eigen::ArrayXd& gradient,
                          double momentum) {
        gain = ((gradient > 0) != (update > 0)).select(gain + 0.2, gain * 0.8).max(0.01);
        update = momentum * update - result.learning_rate * gain * gradient;
    };
    for (int iteration = 0; iteration < s.iterations; ++iteration) {
        const bool exploring = iteration < s.exaggeration_iterations;
        const double exaggeration = exploring ? s.early_exaggeration : 1.0, momentum = exploring ? 0.5 : 0.8;
        const Forces f = result.barnes_hut ? barnes_hut_forces(sparse, e, s.theta) : exact_forces(dense, e);
        const double z = std::max(f.z, kTiny);
        step(gain_x, update_x, 4 * (exaggeration * f.attract_x - f.repel_x / z), momentum);
        step(gain_y, update_y, 4 * (exaggeration * f.attract_y - f.repel_y / z), momentum);
        e.x += update_x.matrix();
        e.y += update_y.matrix();
        e.x.array() -= e.x.mean();
        e.y.array() -= e.y.mean();
        if (observer.progress && ((iteration + 1) % 10 == 0 || iteration + 1 == s.iterations))
            observer.progress(iteration + 1, s.iterations);
        if (iteration + 1 == s.exaggeration_iterations && observer.log)
            observer.log(
                fmt::format("KL divergence after {} iterations with early exaggeration: {:.4f}", iteration + 1, kl()));
    }
    if (!e.x.allFinite() || !e.y.allFinite())
        throw Error(
            fmt::format("the embedding diverged (non-finite coordinates) with learning rate {:g}; lower "
                        "`learning_rate` or use `auto`",
                        result.learning_rate));
    result.kl_divergence = kl();
    result.coordinates.resize(n, 2);
    result.coordinates << e.x, e.y;
    return result;
}

}  // namespace mer::tsne
