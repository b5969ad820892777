// t-SNE's input side: principal components to reduce the input, and the
// Gaussian affinities P, dense for the exact gradient, sparse over nearest
// neighbours for Barnes–Hut.
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "plugins/transform.tsne/tsne.hpp"

namespace mer::tsne {

namespace {

// An orthonormal basis of the columns' span (same shape as `a`).
Eigen::MatrixXd orthonormal(const Eigen::MatrixXd& a) {
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
    return qr.householderQ() * Eigen::MatrixXd::Identity(a.rows(), a.cols());
}

// Squared distances of the rows [first, first + count) of `x` to every row,
// from the Gram matrix (rows × n; the inputs are centred, so little is lost).
Eigen::MatrixXd squared_distances(const Eigen::MatrixXd& x, const Eigen::VectorXd& norms, Eigen::Index first,
                                  Eigen::Index count) {
    Eigen::MatrixXd d2 = -2.0 * x.middleRows(first, count) * x.transpose();
    d2.colwise() += norms.segment(first, count);
    d2.rowwise() += norms.transpose();
    return d2.cwiseMax(0.0);
}

double sigma_of(double precision) {
    return std::sqrt(1.0 / (2.0 * precision));
}

}  // namespace

bool perplexity_fits(double perplexity, Eigen::Index points) {
    return 3.0 * perplexity < static_cast<double>(points);
}

Eigen::MatrixXd gaussian_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
    Eigen::MatrixXd m(rows, cols);
    const double two_pi = 2.0 * std::acos(-1.0);
    for (Eigen::Index i = 0; i < m.size(); i += 2) {
        const double radius = std::sqrt(-2.0 * std::log(uniform())), angle = two_pi * uniform();
        m.data()[i] = radius * std::cos(angle);
        if (i + 1 < m.size()) m.data()[i + 1] = radius * std::sin(angle);
    }
    return m;
}

Eigen::MatrixXd principal_scores(const Eigen::MatrixXd& centred, Eigen::Index k, std::uint64_t seed) {
    const Eigen::Index rank = std::min(centred.rows(), centred.cols());
    k = std::min(k, rank);
    const Eigen::Index width = std::min(k + 10, rank);
    // scikit-learn's randomized_svd: 7 power iterations for few components, else 4.
    const int power_iterations = 10 * k < rank ? 7 : 4;
    Eigen::MatrixXd basis = orthonormal(centred * gaussian_matrix(centred.cols(), width, seed));
    for (int i = 0; i < power_iterations; ++i) basis = orthonormal(centred * orthonormal(centred.transpose() * basis));
    const Eigen::MatrixXd small = basis.transpose() * centred;  // width × features
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(small * small.transpose());
    Eigen::MatrixXd scores(centred.rows(), k);
    for (Eigen::Index c = 0; c < k; ++c) {
        const Eigen::Index e = width - 1 - c;  // Eigen sorts ascending
        scores.col(c) = basis * eigen.eigenvectors().col(e) * std::sqrt(std::max(0.0, eigen.eigenvalues()(e)));
        Eigen::Index at;
        scores.col(c).cwiseAbs().maxCoeff(&at);
        if (scores(at, c) < 0) scores.col(c) *= -1;
    }
    return scores;
}

double match_perplexity(const double* squared_distances, Eigen::Index count, double perplexity, double* p) {
    // Distances measured from the nearest candidate: the same probabilities
    // after normalising, and no underflow to an all-zero row on features
    // with large values.
    const double nearest = *std::min_element(squared_distances, squared_distances + count);
    double mean = 0;
    for (Eigen::Index j = 0; j < count; ++j) mean += squared_distances[j] - nearest;
    mean /= static_cast<double>(count);
    const double target = std::log(perplexity);
    double precision = mean > 0 ? 1.0 / mean : 1.0, low = 0, high = std::numeric_limits<double>::infinity();
    double sum = 0;
    for (int step = 0; step < 200; ++step) {
        sum = 0;
        double weighted = 0;
        for (Eigen::Index j = 0; j < count; ++j) {
            const double d = squared_distances[j] - nearest;
            p[j] = std::exp(-precision * d);
            sum += p[j];
            weighted += d * p[j];
        }
        const double entropy = std::log(sum) + precision * weighted / sum;  // sum ≥ 1: the nearest weighs 1
        if (std::fabs(entropy - target) < 1e-5) break;
        if (entropy > target) {  // too flat: a narrower Gaussian
            low = precision;
            precision = std::isinf(high) ? precision * 2 : (precision + high) / 2;
        } else {
            high = precision;
            precision = (precision + low) / 2;
        }
    }
    for (Eigen::Index j = 0; j < count; ++j) p[j] /= sum;
    return precision;
}

Eigen::MatrixXd dense_affinities(const Eigen::MatrixXd& x, double perplexity, double& mean_sigma) {
    const Eigen::Index n = x.rows();
    const Eigen::VectorXd norms = x.rowwise().squaredNorm();
    Eigen::MatrixXd p = squared_distances(x, norms, 0, n);  // symmetric: column i holds row i's distances
    std::vector<double> others(static_cast<std::size_t>(n - 1)), row(others.size());
    mean_sigma = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0, o = 0; j < n; ++j)
            if (j != i) others[static_cast<std::size_t>(o++)] = p(j, i);
        mean_sigma += sigma_of(match_perplexity(others.data(), n - 1, perplexity, row.data())) / static_cast<double>(n);
        for (Eigen::Index j = 0, o = 0; j < n; ++j) p(j, i) = j == i ? 0.0 : row[static_cast<std::size_t>(o++)];
    }
    // Column i now holds p_{j|i}; the joint probability is their symmetric mean.
    Eigen::MatrixXd joint = p + p.transpose();
    joint /= joint.sum();
    return joint;
}

Eigen::SparseMatrix<double> sparse_affinities(const Eigen::MatrixXd& x, double perplexity, double& mean_sigma) {
    const Eigen::Index n = x.rows();
    const Eigen::Index k = std::min<Eigen::Index>(n - 1, static_cast<Eigen::Index>(3.0 * perplexity) + 1);
    const Eigen::VectorXd norms = x.rowwise().squaredNorm();
    std::vector<Eigen::Triplet<double>> entries;
    entries.reserve(static_cast<std::size_t>(2 * n * k));
    std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
    std::vector<double> nearest(static_cast<std::size_t>(k)), row(nearest.size());
    constexpr Eigen::Index kBlock = 256;  // rows of distances held at once
    mean_sigma = 0;
    for (Eigen::Index first = 0; first < n; first += kBlock) {
        const Eigen::Index count = std::min(kBlock, n - first);
        const Eigen::MatrixXd d2 = squared_distances(x, norms, first, count);
        for (Eigen::Index r = 0; r < count; ++r) {
            const Eigen::Index i = first + r;
            // The k nearest others, ties broken by index so a seed gives one answer.
            order.resize(static_cast<std::size_t>(n));
            std::iota(order.begin(), order.end(), 0);
            order.erase(order.begin() + i);
            const auto closer = [&](Eigen::Index a, Eigen::Index b) {
                return d2(r, a) < d2(r, b) || (d2(r, a) == d2(r, b) && a < b);
            };
            std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), closer);
            std::sort(order.begin(), order.begin() + k, closer);
            for (Eigen::Index j = 0; j < k; ++j) nearest[static_cast<std::size_t>(j)] = d2(r, order[j]);
            mean_sigma +=
                sigma_of(match_perplexity(nearest.data(), k, perplexity, row.data())) / static_cast<double>(n);
            for (Eigen::Index j = 0; j < k; ++j) {
                const double value = row[static_cast<std::size_t>(j)];
                entries.emplace_back(order[j], i, value);  // p_{j|i} …
                entries.emplace_back(i, order[j], value);  // … and its transpose, summed
            }
        }
    }
    Eigen::SparseMatrix<double> joint(n, n);
    joint.setFromTriplets(entries.begin(), entries.end());
    joint /= joint.sum();
    return joint;
}

}  // namespace mer::tsne
