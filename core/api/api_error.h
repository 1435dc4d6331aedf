#pragma once
// An error an API handler answers with; io::error_response gives it OpenAI's
// shape, {"error":{"message":…,"type":…,"param":…,"code":…}}.
#include <stdexcept>
#include <string>

namespace rs::api {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = "")
      : std::runtime_error(std::move(message)), status_(status), param_(std::move(param)) {}

  int status() const { return status_; }
  const std::string& param() const { return param_; }  // the request field at fault; "" for none

 private:
  int status_;
  std::string param_;
};

}  // namespace rs::api
