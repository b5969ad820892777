// The t-SNE algorithm behind transform.tsne (van der Maaten & Hinton 2008):
// Gaussian input affinities whose bandwidth per point matches a perplexity,
// a Student-t kernel in two dimensions, gradient descent with early
// exaggeration, momentum and per-coordinate gains as in the reference
// implementation. The gradient is exact up to `exact_max_points` points and
// Barnes–Hut above (van der Maaten 2014: sparse affinities over 3·perplexity
// nearest neighbours, a quadtree for the repulsion). No plugin types here:
// a matrix in, coordinates out, the same for a seed on every run.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <functional>
#include <string>

namespace mer::tsne {

struct Settings {
    double perplexity = 30;
    int iterations = 1000;
    double learning_rate = 200;  // 0: scikit-learn's "auto", max(points / early_exaggeration / 4, 50)
    double early_exaggeration = 12;
    int exaggeration_iterations = 250;  // with momentum 0.5; the rest with 0.8
    bool pca_init = true;               // false: Gaussian with std 1e-4 from `seed`
    int pca_dims = 50;                  // reduce the input to this many principal components first; 0: never
    double theta = 0.5;                 // Barnes–Hut: a cell narrower than theta × its distance is one point
    int exact_max_points = 3000;        // above this many points, Barnes–Hut
    std::uint64_t seed = 0;
};

struct Result {
    Eigen::MatrixXd coordinates;  // points × 2, centred
    double kl_divergence = 0;     // KL(P || Q) at the end (Barnes–Hut: over the sparse P, Z from the tree)
    bool barnes_hut = false;
    double learning_rate = 0;     // the one used ("auto" resolved)
    Eigen::Index input_dims = 0;  // the dimensions the affinities were computed in
    double mean_sigma = 0;        // mean Gaussian bandwidth of the input affinities
};

// What the optimisation tells its caller: log lines and iterations done.
struct Observer {
    std::function<void(const std::string&)> log;
    std::function<void(int done, int total)> progress;
};

// The smallest number of points a perplexity can be matched on: a point's
// Gaussian needs more than 3·perplexity neighbours (the Barnes–Hut
// neighbourhood), so points must exceed 3·perplexity.
bool perplexity_fits(double perplexity, Eigen::Index points);

// Points (rows) × features in, a 2-D embedding out. Throws mer::Error when
// the perplexity does not fit the points (see perplexity_fits).
Result embed(const Eigen::MatrixXd& points, const Settings& settings, const Observer& observer = {});

// --- the parts, for the files of this folder and their tests ---

// Scores of the centred rows on their first `k` principal components
// (randomized range finder with power iterations, Halko et al. 2011, as
// scikit-learn's PCA for such shapes; exact when k + 10 reaches the rank).
// Each column's largest-magnitude score is positive.
Eigen::MatrixXd principal_scores(const Eigen::MatrixXd& centred, Eigen::Index k, std::uint64_t seed);

// rows × cols independent standard normal values from `seed` (Box–Muller on
// mt19937_64, so the same on every standard library).
Eigen::MatrixXd gaussian_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed);

// One point's conditional probabilities p_{j|i} over `count` candidates from
// their squared distances, the Gaussian's precision searched so that the
// entropy is log(perplexity); returns the precision 1 / (2σ²) found.
double match_perplexity(const double* squared_distances, Eigen::Index count, double perplexity, double* p);

// The joint probabilities of every pair of rows of `x` (n × n, symmetric,
// zero diagonal, summing to 1): (p_{j|i} + p_{i|j}) / 2n.
Eigen::MatrixXd dense_affinities(const Eigen::MatrixXd& x, double perplexity, double& mean_sigma);

// The same from each row's min(n − 1, ⌊3·perplexity⌋ + 1) nearest neighbours
// only (exact search), symmetrised: what Barnes–Hut attracts with.
Eigen::SparseMatrix<double> sparse_affinities(const Eigen::MatrixXd& x, double perplexity, double& mean_sigma);

}  // namespace mer::tsne
