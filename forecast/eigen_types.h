#pragma once
// Eigen aliases used inside forecast/ (cf. ceres internal/eigen.h). Dynamic sizes only,
// so nothing here has alignment pitfalls when passed or stored.

#include <Eigen/Core>

namespace forecast {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;
using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace forecast
