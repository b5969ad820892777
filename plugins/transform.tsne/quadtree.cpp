// Building the quadtree and walking it for one point's repulsion.
#include "plugins/transform.tsne/quadtree.hpp"

#include <algorithm>
#include <array>

namespace mer::tsne {

QuadTree::QuadTree(const Eigen::VectorXd& x, const Eigen::VectorXd& y)
    : x_(x), y_(y), next_(static_cast<std::size_t>(x.size()), -1) {
    const double low_x = x.minCoeff(), high_x = x.maxCoeff(), low_y = y.minCoeff(), high_y = y.maxCoeff();
    // A square a little larger than the points, so the largest lie inside.
    const double half = std::max(high_x - low_x, high_y - low_y) / 2 * (1 + 1e-6) + 1e-12;
    cells_.reserve(static_cast<std::size_t>(2 * x.size() + 1));
    add_cell((low_x + high_x) / 2, (low_y + high_y) / 2, half);
    for (Eigen::Index i = 0; i < x.size(); ++i) insert(static_cast<int>(i));
}

int QuadTree::add_cell(double centre_x, double centre_y, double half_width) {
    Cell cell;
    cell.centre_x = centre_x;
    cell.centre_y = centre_y;
    cell.half_width = half_width;
    cells_.push_back(cell);
    return static_cast<int>(cells_.size() - 1);
}

int QuadTree::quadrant(const Cell& cell, int point) const {
    return (x_(point) >= cell.centre_x ? 1 : 0) + (y_(point) >= cell.centre_y ? 2 : 0);
}

void QuadTree::insert(int point) {
    // Indices, not references: adding a cell may move the others.
    int at = 0;
    for (int depth = 0;; ++depth) {
        if (cells_[at].count == 0) {  // the empty root
            Cell& c = cells_[at];
            c.first_point = point;
            c.sum_x = x_(point);
            c.sum_y = y_(point);
            c.count = 1;
            return;
        }
        if (cells_[at].first_point >= 0) {
            const int resident = cells_[at].first_point;
            if (depth >= kMaxDepth || (x_(resident) == x_(point) && y_(resident) == y_(point))) {
                Cell& c = cells_[at];
                next_[static_cast<std::size_t>(point)] = c.first_point;
                c.first_point = point;
                c.sum_x += x_(point);
                c.sum_y += y_(point);
                ++c.count;
                return;
            }
            // Split the leaf: its points (all at one place) move down to a child.
            const int q = quadrant(cells_[at], resident);
            const double h = cells_[at].half_width / 2;
            const int child =
                add_cell(cells_[at].centre_x + (q & 1 ? h : -h), cells_[at].centre_y + (q & 2 ? h : -h), h);
            Cell& moved = cells_[static_cast<std::size_t>(child)];
            moved.first_point = resident;
            moved.sum_x = cells_[at].sum_x;
            moved.sum_y = cells_[at].sum_y;
            moved.count = cells_[at].count;
            cells_[at].child[q] = child;
            cells_[at].first_point = -1;
        }
        Cell& c = cells_[at];
        c.sum_x += x_(point);
        c.sum_y += y_(point);
        ++c.count;
        const int q = quadrant(c, point);
        if (c.child[q] >= 0) {
            at = c.child[q];
            continue;
        }
        const double h = c.half_width / 2;
        const int child = add_cell(c.centre_x + (q & 1 ? h : -h), c.centre_y + (q & 2 ? h : -h), h);
        cells_[at].child[q] = child;
        Cell& leaf = cells_[static_cast<std::size_t>(child)];
        leaf.first_point = point;
        leaf.sum_x = x_(point);
        leaf.sum_y = y_(point);
        leaf.count = 1;
        return;
    }
}

void QuadTree::repulsion(Eigen::Index i, double theta, double& fx, double& fy, double& z) const {
    const double xi = x_(i), yi = y_(i), theta2 = theta * theta;
    // Depth first: at most 3 siblings wait per level.
    std::array<int, 4 * (kMaxDepth + 2)> stack;
    std::size_t size = 0;
    stack[size++] = 0;
    while (size > 0) {
        const Cell& c = cells_[static_cast<std::size_t>(stack[--size])];
        if (c.count == 0) continue;
        if (c.first_point >= 0) {
            for (int p = c.first_point; p >= 0; p = next_[static_cast<std::size_t>(p)]) {
                if (p == i) continue;
                const double dx = xi - x_(p), dy = yi - y_(p);
                const double w = 1 / (1 + dx * dx + dy * dy);
                z += w;
                fx += w * w * dx;
                fy += w * w * dy;
            }
            continue;
        }
        const double dx = xi - c.sum_x / c.count, dy = yi - c.sum_y / c.count;
        const double d2 = dx * dx + dy * dy, width = 2 * c.half_width;
        if (width * width < theta2 * d2) {
            const double w = 1 / (1 + d2), mass = c.count * w;
            z += mass;
            fx += mass * w * dx;
            fy += mass * w * dy;
            continue;
        }
        for (int child : c.child)
            if (child >= 0) stack[size++] = child;
    }
}

}  // namespace mer::tsne
