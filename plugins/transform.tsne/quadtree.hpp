// The Barnes–Hut quadtree of a 2-D t-SNE embedding (van der Maaten 2014):
// every cell knows how many points it holds and their centre of mass, so
// the repulsion of a far cell is computed as if its points sat there. Built
// afresh every iteration from the current coordinates.
#pragma once

#include <Eigen/Core>
#include <vector>

namespace mer::tsne {

class QuadTree {
public:
    QuadTree(const Eigen::VectorXd& x, const Eigen::VectorXd& y);

    // Point i's repulsion before normalising, Σ_j w_ij² (y_i − y_j) with the
    // Student-t weight w_ij = 1 / (1 + |y_i − y_j|²), added to (fx, fy), and
    // Σ_j w_ij, its share of the normalisation Z, added to z. A cell whose
    // width is below theta × its distance from the point counts as one
    // point of its mass; leaves are summed exactly.
    void repulsion(Eigen::Index i, double theta, double& fx, double& fy, double& z) const;

private:
    struct Cell {
        double centre_x, centre_y, half_width;
        double sum_x = 0, sum_y = 0;  // of the points below, for the centre of mass
        int count = 0;
        int child[4] = {-1, -1, -1, -1};
        int first_point = -1;  // a leaf's points (a list through next_); -1 for an inner cell
    };
    static constexpr int kMaxDepth = 48;  // below this, points share a leaf (duplicates do anyway)

    void insert(int point);
    int add_cell(double centre_x, double centre_y, double half_width);
    int quadrant(const Cell& cell, int point) const;

    const Eigen::VectorXd& x_;
    const Eigen::VectorXd& y_;
    std::vector<Cell> cells_;
    std::vector<int> next_;  // next point in the same leaf, -1 at the end
};

}  // namespace mer::tsne
