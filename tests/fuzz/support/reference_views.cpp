#include <algorithm>
#include <cmath>

#include "reference_common.hpp"

// Views: the operand's elements and bounds, gathered through an index map.
namespace fz::ref {

using namespace detail;

namespace {

// Gathers x's elements through a strided layout of the result's shape.
tensor gather(const tensor& x,
              const std::vector<std::size_t>& shape,
              const std::vector<long>& stride,
              long offset) {
  tensor r = make(x.type, shape);
  std::vector<std::size_t> at(shape.size(), 0);
  for (std::size_t i = 0; i < r.size(); ++i) {
    long flat = offset;
    for (std::size_t d = 0; d < shape.size(); ++d) flat += long(at[d]) * stride[d];
    r.value[i] = x.value[std::size_t(flat)];
    r.bound[i] = x.bound[std::size_t(flat)];
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
  return r;
}

}  // namespace

tensor reshape(const tensor& x, const std::vector<std::size_t>& dims) {
  std::vector<std::size_t> shape = dims;
  std::size_t known = 1, inferred = dims.size();
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == any)
      inferred = d;
    else
      known *= dims[d];
  }
  if (inferred < dims.size()) shape[inferred] = known == 0 ? 0 : x.size() / known;
  if (count(shape) != x.size()) throw std::logic_error("reference: reshape changes the size");
  tensor r = x;
  r.shape = shape;
  return r;
}

tensor permute(const tensor& x, const std::vector<std::size_t>& order) {
  const auto own = strides_of(x.shape);
  std::vector<std::size_t> shape;
  std::vector<long> stride;
  for (std::size_t d : order) {
    shape.push_back(x.shape[d]);
    stride.push_back(long(own[d]));
  }
  return gather(x, shape, stride, 0);
}

tensor broadcast_to(const tensor& x, const std::vector<std::size_t>& dims) {
  const std::size_t lead = dims.size() - x.shape.size();
  const auto own = strides_of(x.shape);
  std::vector<std::size_t> shape(dims.size());
  std::vector<long> stride(dims.size(), 0);
  for (std::size_t d = 0; d < dims.size(); ++d) {
    const std::size_t from = d < lead ? 1 : x.shape[d - lead];
    shape[d] = dims[d] == any ? from : dims[d];
    if (from != shape[d] && from != 1) throw std::logic_error("reference: bad broadcast_to");
    if (d >= lead && from == shape[d]) stride[d] = long(own[d - lead]);
  }
  return gather(x, shape, stride, 0);
}

tensor slice(const tensor& x, std::size_t axis, long begin, long end, long step) {
  const long n = long(x.shape[axis]);
  auto clamp = [n](long i) {
    if (i < 0) i += n;
    return i < 0 ? 0 : i > n ? n : i;
  };
  const long b = clamp(begin), e = clamp(end);
  const std::size_t len = e > b ? std::size_t((e - b + step - 1) / step) : 0;
  const auto own = strides_of(x.shape);
  std::vector<std::size_t> shape = x.shape;
  std::vector<long> stride(own.begin(), own.end());
  shape[axis] = len;
  stride[axis] *= step;
  return gather(x, shape, stride, b * long(own[axis]));
}

}  // namespace fz::ref
