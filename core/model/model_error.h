#pragma once
#include <stdexcept>

namespace rs::model {

struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace rs::model
