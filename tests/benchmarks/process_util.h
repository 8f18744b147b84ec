// Running the benchmark binaries and scripts as real processes from a test.
#ifndef GS_TESTS_BENCHMARKS_PROCESS_UTIL_H_
#define GS_TESTS_BENCHMARKS_PROCESS_UTIL_H_

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "nlohmann/json.hpp"

namespace gs::testing {

inline std::string Runfile(const std::string& path) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/gradient_smoothing/" + path;
}

inline std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline nlohmann::json ReadJson(const std::string& path) {
  return nlohmann::json::parse(ReadText(path), nullptr, false);
}

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs `command` through /bin/sh.
inline Result Shell(const std::string& command) {
  static int counter = 0;
  const std::string log = Tmp("command" + std::to_string(counter++) + ".log");
  const int status = std::system((command + " > " + log + " 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadText(log)};
}

}  // namespace gs::testing

#endif  // GS_TESTS_BENCHMARKS_PROCESS_UTIL_H_
