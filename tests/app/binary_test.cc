// The ringserve executable as a user runs it.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <cstdio>
#include <regex>
#include <thread>

#include <simdjson.h>

#include "tests/support/ci.h"
#include "tests/support/http_client.h"
#include "tests/support/test_files.h"

extern char** environ;

namespace rs::test {
namespace {

// A ringserve child process with its stderr captured, started through `launcher` if one is given.
class Process {
 public:
  explicit Process(std::vector<std::string> args, const std::vector<std::string>& launcher = {}) {
    args.insert(args.begin(), RINGSERVE_BINARY);
    args.insert(args.begin(), launcher.begin(), launcher.end());
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start " + args[0]);
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    output_fd_ = fds[0];
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(output_fd_);
  }

  // Reads output until `pattern` matches a line (returns its first group) or EOF/timeout.
  std::optional<std::string> wait_for_line(const std::string& pattern,
                                           std::chrono::milliseconds timeout = 10000ms) {
    const std::regex re(pattern);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      size_t start = 0;
      for (size_t nl; (nl = output_.find('\n', start)) != std::string::npos; start = nl + 1) {
        const std::string line = output_.substr(start, nl - start);
        if (std::regex_search(line, m, re)) return m.size() > 1 ? m[1].str() : line;
      }
      if (!read_some(deadline)) break;
    }
    return std::nullopt;
  }
  // Waits for exit; returns the exit status, or -1 on timeout / signal.
  int wait_exit(std::chrono::milliseconds timeout = 10000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        while (read_some(std::chrono::steady_clock::now() + 200ms)) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      read_some(std::chrono::steady_clock::now() + 20ms);
    }
    return -1;
  }
  void signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{output_fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, int(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = read(output_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, size_t(n));
    return true;
  }

  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string output_;
};

uint16_t start_server(Process& p) {
  const auto port = p.wait_for_line(R"(listening on http://127\.0\.0\.1:(\d+))");
  EXPECT_TRUE(port) << p.output();
  return port ? uint16_t(std::stoi(*port)) : 0;
}

// Every subcommand and every flag, from one list: a subcommand or flag added without its line here fails.
const std::map<std::string, std::set<std::string>> kCommandLine = {
    {"serve", {"--host", "--port", "--shards", "--no-pin", "--max-connections", "--max-header-bytes",
               "--max-body-bytes", "--header-timeout", "--body-timeout", "--idle-timeout", "--write-timeout",
               "--drain-timeout", "--io-backend", "--max-output-bytes", "--max-unsent-bytes", "--cors-origin", "--access-log",
               "--model", "--model-name", "--chat-template", "--tool-call-parser", "--device", "--gpu-memory-fraction",
               "--threads", "--compute-nice", "--ctx-size", "--kv-type", "--no-prefix-cache", "--prefix-cache-file", "--kv-cache-gib",
               "--max-batch-tokens", "--max-seqs", "--max-concurrency", "--max-queue", "--embedding-model",
               "--embedding-model-name", "--embedding-threads", "--embedding-batch-tokens", "--semantic-cache",
               "--semantic-threshold", "--semantic-cache-entries", "--semantic-cache-bytes", "--semantic-cache-ttl",
               "--semantic-cache-file", "--api-key", "--api-key-file", "--log-level"}},
    {"inspect", {"--json", "--log-level"}},
    {"load", {"--buffered", "--device", "--chunk-mib", "--depth", "--log-level"}},
    {"run", {"--model", "-p", "--prompt", "-n", "--max-tokens", "--temp", "--top-k", "--top-p", "--min-p", "--seed",
             "--device", "--threads", "--kv-type", "--ctx-size", "--special", "--ignore-eos", "--json-schema",
             "--grammar-file", "--regex", "--json", "--log-level"}},
    {"synth", {"--arch", "--preset", "--type", "--seed", "--vocab-from", "--pooling", "-o", "--output", "--log-level"}},
    {"pack", {"--type", "-o", "--output", "--log-level"}},
    {"tokenize", {"--model", "--no-bos", "--special", "--log-level"}},
    {"detokenize", {"--model", "--log-level"}},
    {"template", {"--model", "--chat-template", "--no-generation-prompt", "--log-level"}},
    {"warm", {"--model", "--prompts", "-o", "--output", "--semantic", "--embedding-model", "--model-name",
              "--chat-template", "--device", "--threads", "--kv-type", "--ctx-size", "--log-level"}},
    {"plan", {"--model", "--device", "--gpu-memory", "--memory", "--gpu-memory-fraction", "--ctx-size", "--kv-type",
              "--max-seqs", "--max-batch-tokens", "--block-tokens", "--json", "--from", "--target-ntpot-ms",
              "--target-ttft-ms", "--emit", "--image", "--model-path", "--name", "--min-instances", "--max-instances",
              "--log-level"}},
};

// The names of a CLI11 help text's section `heading` ("Options:", "Subcommands:"): each entry's first word,
// or for options, its flags ("-p,--prompt").
std::set<std::string> help_entries(const std::string& help, const std::string& heading) {
  std::set<std::string> names;
  std::istringstream lines(help.substr(std::min(help.size(), help.find("\n" + heading + "\n") + heading.size() + 2)));
  const std::regex entry(R"(^  (\S+))");
  for (std::string line; std::getline(lines, line) && !line.empty();) {
    std::smatch match;
    if (!std::regex_search(line, match, entry)) continue;
    std::string word = match[1];
    if (heading != "Options:") {
      names.insert(word);
      continue;
    }
    for (size_t at = 0; at < word.size();) {  // "-p,--prompt" -> "-p", "--prompt"
      const size_t comma = word.find(',', at);
      names.insert(word.substr(at, comma - at));
      at = comma == std::string::npos ? word.size() : comma + 1;
    }
  }
  names.erase("-h");
  names.erase("--help");
  return names;
}

TEST(Binary, HelpDocumentsEverySubcommandAndFlag) {
  Process top({"--help"});
  EXPECT_EQ(top.wait_exit(), 0);
  std::set<std::string> commands;
  for (const auto& [command, flags] : kCommandLine) commands.insert(command);
  EXPECT_EQ(help_entries(top.output(), "Subcommands:"), commands) << top.output();
  for (const auto& [command, flags] : kCommandLine) {
    Process help({command, "--help"});
    EXPECT_EQ(help.wait_exit(), 0) << command;
    EXPECT_EQ(help_entries(help.output(), "Options:"), flags) << command << ":\n" << help.output();
  }
}

TEST(Binary, BadFlagIsNamedAndFails) {
  Process p({"serve", "--shards", "zero"});
  EXPECT_NE(p.wait_exit(), 0);
  EXPECT_NE(p.output().find("--shards"), std::string::npos) << p.output();
}

TEST(Binary, ServesHealthReadyAndValidMetricsThenExitsCleanlyOnSigterm) {
  Process p({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "2", "--no-pin",
             "--access-log"});
  const uint16_t port = start_server(p);
  ASSERT_NE(port, 0);
#ifndef __SANITIZE_ADDRESS__  // AddressSanitizer owns malloc in sanitizer builds
  EXPECT_NE(p.output().find("malloc redirected"), std::string::npos) << p.output();
#endif
  auto health = fetch(port, get_request("/health"));
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(p.wait_for_line(R"("GET /health HTTP/1.1" 200)"));  // --access-log
  // The demo model loads in milliseconds: /ready's 503 before that is tested in-process (api_tests).
  ASSERT_TRUE(p.wait_for_line(R"(ready: serving "ringserve-demo-random-weights")")) << p.output();
  auto ready = fetch(port, get_request("/ready"));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  auto metrics = fetch(port, get_request("/metrics"));
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("ringserve_http_connections_open{shard=\"1\"}"), std::string::npos);
  EXPECT_NE(metrics->body.find("ringserve_kv_cache_usage_ratio 0\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("ringserve_time_to_first_token_seconds_bucket{le=\"0.001\"}"), std::string::npos);
  const bool have_promtool = system("command -v promtool >/dev/null 2>&1") == 0;
  if (have_promtool) {
    FILE* check = popen("promtool check metrics >/dev/null 2>&1", "w");
    fwrite(metrics->body.data(), 1, metrics->body.size(), check);
    EXPECT_EQ(pclose(check), 0) << metrics->body;
  } else if (under_ci()) {
    ADD_FAILURE() << "promtool missing under CI: deploy/install-deps.sh installs it";
  }

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 0) << p.output();
  EXPECT_NE(p.output().find("received TERM: draining"), std::string::npos);
  if (!have_promtool && !under_ci()) GTEST_SKIP() << "promtool not installed";
}

TEST(Binary, MaxQueueZeroMeansNoQueue) {
  Process p({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin", "--max-concurrency", "3",
             "--max-queue", "0"});
  ASSERT_NE(start_server(p), 0);
  EXPECT_TRUE(p.wait_for_line(R"(at most 3 sequences at once plus 0 queued)")) << p.output();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 0) << p.output();
}

// A server on the CPU never opens cuBLAS (gpu/cublas_library.h): linked, it cost every start of a CUDA build 0.6 s
// and 220 MB here, GPU or not.
TEST(Binary, ServingOnTheCpuNeverMapsCublas) {
  Process p({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin"});
  ASSERT_NE(start_server(p), 0);
  ASSERT_TRUE(p.wait_for_line(R"(ready: serving)")) << p.output();
  std::ifstream maps("/proc/" + std::to_string(p.pid()) + "/maps");
  const std::string mapped{std::istreambuf_iterator<char>(maps), {}};
  EXPECT_NE(mapped.find("libc.so"), std::string::npos);
  EXPECT_EQ(mapped.find("libcublas"), std::string::npos);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 0) << p.output();
}

// Each thread of process `pid` by name (/proc's comm), with its niceness.
std::vector<std::pair<std::string, int>> threads_niceness(pid_t pid) {
  std::vector<std::pair<std::string, int>> threads;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    threads.emplace_back(name, getpriority(PRIO_PROCESS, std::stoi(task.path().filename())));
  }
  return threads;
}

// The CPU engine's compute threads (the engine thread and the pool's workers) run at --compute-nice above the
// server, the HTTP shards at its niceness.
TEST(Binary, ComputeThreadsRunBelowTheShards) {
  for (const int nice : {10, 0}) {
    Process p({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin", "--threads", "3",
               "--compute-nice", std::to_string(nice)});
    ASSERT_NE(start_server(p), 0);
    ASSERT_TRUE(p.wait_for_line(R"(ready: serving)")) << p.output();
    const int base = getpriority(PRIO_PROCESS, p.pid());
    int compute = 0;
    for (const auto& [name, niceness] : threads_niceness(p.pid())) {
      if (name == "engine" || name.starts_with("compute-")) {
        EXPECT_EQ(niceness, base + nice) << name;
        ++compute;
      }
      if (name == "shard-0") {
        EXPECT_EQ(niceness, base);
      }
    }
    EXPECT_EQ(compute, 3);  // the engine thread and two workers
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait_exit(), 0) << p.output();
  }
}

TEST(Binary, PortInUseIsAClearError) {
  Process first({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin"});
  const uint16_t port = start_server(first);
  ASSERT_NE(port, 0);
  // SO_REUSEPORT lets only the same user share a port; a plain socket shows the error path.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  listen(fd, 1);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  Process second({"serve", "--host", "127.0.0.1", "--port", std::to_string(ntohs(addr.sin_port))});
  EXPECT_EQ(second.wait_exit(), 1);
  EXPECT_NE(second.output().find("cannot listen on 127.0.0.1:"), std::string::npos) << second.output();
  close(fd);
}

}  // namespace
}  // namespace rs::test

namespace rs::test {
namespace {

std::string temp_file(const std::string& name) {
  // The pid keeps tests that ctest runs in parallel, each its own process, out of each other's files.
  return (std::filesystem::temp_directory_path() / ("ringserve-binary-test-" + std::to_string(getpid()) + "-" + name))
      .string();
}

TEST(Binary, SynthIsDeterministicAndInspectDescribesIt) {
  const std::string a = temp_file("a.gguf"), b = temp_file("b.gguf");
  Process first({"synth", "--preset", "tiny", "--type", "q8_0", "--seed", "5", "-o", a});
  ASSERT_EQ(first.wait_exit(), 0) << first.output();
  Process second({"synth", "--preset", "tiny", "--type", "q8_0", "--seed", "5", "-o", b});
  ASSERT_EQ(second.wait_exit(), 0) << second.output();
  EXPECT_EQ(file_bytes(a), file_bytes(b));

  Process inspect({"inspect", "--json", a});
  ASSERT_EQ(inspect.wait_exit(), 0) << inspect.output();
  const std::string& json = inspect.output();
  EXPECT_NE(json.find(R"("architecture":"llama")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("n_tensors":21)"), std::string::npos);
  EXPECT_NE(json.find(R"("n_layers":2)"), std::string::npos);
  EXPECT_NE(json.find(R"({"name":"blk.0.attn_q.weight","type":"q8_0","shape":[64,64])"), std::string::npos);
}

TEST(Binary, InspectsTheRealStoriesModel) {
  const std::string model = std::string(RINGSERVE_SOURCE_DIR) + "/../shared/models/stories260K.gguf";
  if (!std::filesystem::exists(model)) {
    if (under_ci()) {
      FAIL() << model << " missing under CI";
    }
    GTEST_SKIP() << model << " not found (../shared is absent in a plain clone)";
  }
  Process inspect({"inspect", "--json", model});
  ASSERT_EQ(inspect.wait_exit(), 0) << inspect.output();
  for (const char* field : {R"("architecture":"llama")", R"("vocab_size":512)", R"("embedding_dim":64)",
                            R"("n_layers":5)", R"("n_heads":8)", R"("n_kv_heads":4)", R"("ffn_dim":172)",
                            R"("n_tensors":48)"}) {
    EXPECT_NE(inspect.output().find(field), std::string::npos) << field;
  }
}

TEST(Binary, LoadPrintsOneJsonLineAndRejectsNonModels) {
  const std::string model = temp_file("load.gguf");
  ASSERT_EQ(Process({"synth", "--preset", "small", "-o", model}).wait_exit(), 0);
  for (const bool buffered : {false, true}) {
    std::vector<std::string> args{"load", model, "--device", "cpu"};
    if (buffered) args.push_back("--buffered");
    Process load(args);
    ASSERT_EQ(load.wait_exit(), 0) << load.output();
    const std::regex line(
        R"(\{"device":"cpu","bytes":(\d+),"seconds":[0-9.e-]+,"gbps":[0-9.e+-]+,"direct":(true|false),"staging_bytes":0\})");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(load.output(), m, line)) << load.output();
    EXPECT_EQ(std::stoull(m[1]), std::filesystem::file_size(model));
    if (buffered) {
      EXPECT_EQ(m[2], "false");
    }
  }
  Process bad_device({"load", model, "--device", "tpu"});
  EXPECT_NE(bad_device.wait_exit(), 0);
  EXPECT_NE(bad_device.output().find("--device"), std::string::npos) << bad_device.output();
  Process not_a_model({"load", "/etc/hostname"});
  EXPECT_EQ(not_a_model.wait_exit(), 1);
  EXPECT_NE(not_a_model.output().find("/etc/hostname: not a GGUF file"), std::string::npos)
      << not_a_model.output();
}

// Warm at build time, load at start: the server says what it loaded before it is ready, and the first request
// hits; started with a file made for other flags, it says why it refused it and serves without.
TEST(Binary, WarmThenServeStartsWithThePrefixCacheLoaded) {
  const std::string prompts = temp_file("prompts.jsonl"), snapshot = temp_file("cache.rkv");
  std::ofstream(prompts) << '"' << std::string(40, 'A') << "\"\n";  // BOS, ▁ and 40 bytes: 2 full blocks
  Process warm({"warm", "--prompts", prompts, "-o", snapshot, "--ctx-size", "256"});
  ASSERT_EQ(warm.wait_exit(), 0) << warm.output();
  EXPECT_NE(warm.output().find("warm: 1 prompts, 2 blocks (32 tokens), 12288 bytes written to " + snapshot),
            std::string::npos) << warm.output();
  const std::string body = R"({"prompt":")" + std::string(40, 'A') + R"(","max_tokens":2})";
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  for (const bool matching : {true, false}) {
    Process serve({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin", "--ctx-size", "256",
                   "--prefix-cache-file", snapshot, "--kv-type", matching ? "f16" : "f32"});
    const uint16_t port = start_server(serve);
    ASSERT_NE(port, 0);
    const std::string said = matching ? "prefix cache file " + snapshot + ": 2 blocks \\(32 tokens\\) loaded in"
                                      : "prefix cache file refused: " + snapshot +
                                            ": KV type f16 is not this server's --kv-type f32; serving without it";
    EXPECT_TRUE(serve.wait_for_line(said)) << serve.output();
    ASSERT_TRUE(serve.wait_for_line("ready: serving")) << serve.output();
    const auto response = fetch(port, request);
    ASSERT_TRUE(response && response->status == 200);
    EXPECT_NE(response->body.find(matching ? R"("cached_tokens":32)" : R"("cached_tokens":0)"), std::string::npos)
        << response->body;
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait_exit(), 0) << serve.output();
  }
  std::filesystem::remove(prompts);
  std::filesystem::remove(snapshot);
}

// As under Docker's, containerd's or GKE's default seccomp profile, which refuse io_uring: warm and serve say so
// once and go on (sockets on epoll, the model and the snapshot read with pread), the snapshot is loaded before
// ready, requests are answered, and SIGTERM still drains to exit 0.
TEST(Binary, WorksWhereASeccompProfileRefusesIoUring) {
  const std::vector<std::string> seccomp = {WITHOUT_IO_URING};
  const std::string prompts = temp_file("seccomp-prompts.jsonl"), snapshot = temp_file("seccomp-cache.rkv");
  std::ofstream(prompts) << '"' << std::string(40, 'A') << "\"\n";
  const std::string refused = "io_uring is not available to this process (Operation not permitted)";
  Process warm({"warm", "--prompts", prompts, "-o", snapshot, "--ctx-size", "256"}, seccomp);
  ASSERT_EQ(warm.wait_exit(), 0) << warm.output();
  EXPECT_NE(warm.output().find(refused), std::string::npos) << warm.output();

  Process serve({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "2", "--no-pin", "--ctx-size", "256",
                 "--prefix-cache-file", snapshot},
                seccomp);
  const uint16_t port = start_server(serve);
  ASSERT_NE(port, 0);
  ASSERT_TRUE(serve.wait_for_line("ready: serving")) << serve.output();
  EXPECT_TRUE(serve.wait_for_line("with 2 shard\\(s\\) on epoll")) << serve.output();
  EXPECT_TRUE(serve.wait_for_line("prefix cache file " + snapshot + ": 2 blocks \\(32 tokens\\) loaded in"))
      << serve.output();
  for (const bool stream : {false, true}) {
    const std::string body = R"({"prompt":")" + std::string(40, 'A') + R"(","max_tokens":2,"stream":)" +
                             (stream ? "true" : "false") + "}";
    const auto response = fetch(port, "POST /v1/completions HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                                          std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_TRUE(response && response->status == 200);
    EXPECT_NE(response->body.find(stream ? "data: [DONE]" : R"("cached_tokens":32)"), std::string::npos)
        << response->body;
  }
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(), 0) << serve.output();
  const std::string& log = serve.output();
  EXPECT_EQ(log.find(refused), log.rfind(refused)) << "said more than once:\n" << log;
  std::filesystem::remove(prompts);
  std::filesystem::remove(snapshot);
}

// --api-key-file keeps the key out of process listings and the environment. At the default log level, with the
// access log on, neither the key (right or wrong), nor prompt text, nor completion text reaches the log, whatever
// the requests were: answered, streamed, refused, malformed.
TEST(Binary, ApiKeyFromAFileAndNoSecretsOrTextInTheLog) {
  const std::string key_file = temp_file("api-key"), key = "rs-key-7f3a9c2e5b1d", wrong = "rs-wrong-key-4e8b";
  std::ofstream(key_file) << key << "\n";
  Process serve({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin", "--ctx-size", "256",
                 "--api-key-file", key_file, "--access-log"});
  const uint16_t port = start_server(serve);
  ASSERT_NE(port, 0);
  ASSERT_TRUE(serve.wait_for_line("ready: serving")) << serve.output();
  const std::string marker = "PromptMarkerQz";
  const auto post = [&](const std::string& path, const std::string& body, const std::string& bearer) {
    const auto response = fetch(port, "POST " + path + " HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + bearer +
                                          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    EXPECT_TRUE(response);
    return response.value_or(HttpResponse{});
  };
  const std::string chat = R"({"messages":[{"role":"user","content":"say )" + marker + R"("}],"max_tokens":12)";
  const HttpResponse completion =
      post("/v1/completions", R"({"prompt":"tell )" + marker + R"(","max_tokens":12,"temperature":0})", key);
  EXPECT_EQ(completion.status, 200) << completion.body;
  EXPECT_EQ(post("/v1/chat/completions", chat + "}", key).status, 200);
  EXPECT_EQ(post("/v1/chat/completions", chat + R"(,"stream":true})", key).status, 200);
  EXPECT_EQ(post("/v1/chat/completions", chat + "}", wrong).status, 401);
  EXPECT_EQ(post("/v1/chat/completions", chat, key).status, 400);  // unterminated JSON holding the prompt
  EXPECT_EQ(post("/v1/chat/completions", chat + R"(,"response_format":{"type":"json_schema","json_schema":)"
                                                  R"({"name":"x","schema":{")" + marker + R"(":1}}}})",
                 key).status,
            400);
  EXPECT_EQ(post("/v1/chat/completions", chat + R"(,"model":"../../etc/)" + marker + R"("})", key).status, 404);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(), 0) << serve.output();

  const std::string& log = serve.output();
  EXPECT_NE(log.find("\"POST /v1/chat/completions HTTP/1.1\" 401"), std::string::npos) << log;  // the access log ran
  for (const std::string& secret : {key, wrong, marker}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " is in the log:\n" << log;
  }
  simdjson::dom::parser parser;
  const std::string text(std::string_view(parser.parse(completion.body)["choices"].at(0)["text"]));
  ASSERT_GE(text.size(), 8u);
  EXPECT_EQ(log.find(text), std::string::npos) << "the completion text is in the log:\n" << log;

  std::ofstream(key_file) << "\n";
  Process empty({"serve", "--port", "0", "--api-key-file", key_file});
  EXPECT_EQ(empty.wait_exit(), 1);
  EXPECT_NE(empty.output().find("--api-key-file " + key_file + ": its first line is empty"), std::string::npos)
      << empty.output();
  std::filesystem::remove(key_file);
  Process missing({"serve", "--port", "0", "--api-key-file", key_file});
  EXPECT_EQ(missing.wait_exit(), 1);
  EXPECT_NE(missing.output().find("--api-key-file " + key_file + ": cannot read it"), std::string::npos)
      << missing.output();
}

// The GKE Inference Gateway manifests against the Deployment they front and the gauges a running server exports
// (tests/app/check_gateway.py): pool selector, port, picker wiring, health check and metric names.
TEST(Binary, InferenceGatewayManifestsAgreeWithTheDeploymentAndMetrics) {
  Process serve({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin", "--ctx-size", "256"});
  const uint16_t port = start_server(serve);
  ASSERT_NE(port, 0);
  ASSERT_TRUE(serve.wait_for_line("ready: serving")) << serve.output();
  const auto metrics = fetch(port, "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n");
  ASSERT_TRUE(metrics && metrics->status == 200);
  const std::string metrics_file = temp_file("metrics.txt");
  std::ofstream(metrics_file) << metrics->body;
  const std::string source = RINGSERVE_SOURCE_DIR;
  const std::string command = "python3 " + source + "/tests/app/check_gateway.py " + source +
                              "/deploy/gke/inference-gateway/ringserve.yaml " + source + "/deploy/gke/ringserve.yaml " +
                              metrics_file + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  for (char buffer[512]; fgets(buffer, sizeof buffer, pipe) != nullptr;) output += buffer;
  EXPECT_EQ(pclose(pipe), 0) << output;
  std::filesystem::remove(metrics_file);
}

// The semantic cache warmed at build time: the server loads it before it is ready, and the first request of a
// warmed question is answered from it; started under another --model-name, it says why it refused the file and
// answers from the model.
TEST(Binary, WarmSemanticThenServeAnswersTheFirstRequestFromTheCache) {
  const std::string bert = temp_file("bert.gguf"), questions = temp_file("questions.jsonl"),
                    semantic = temp_file("semantic.rsc");
  Process synth({"synth", "--arch", "bert", "--preset", "tiny", "-o", bert});
  ASSERT_EQ(synth.wait_exit(), 0) << synth.output();
  std::ofstream(questions) << R"({"question":"What is the capital of France?","answer":"Paris."})" << "\n"
                           << R"({"messages":[{"role":"user","content":"Why?"}],"temperature":0,"max_tokens":4})"
                           << "\n";
  Process warm({"warm", "--semantic", "--embedding-model", bert, "--prompts", questions, "-o", semantic,
                "--ctx-size", "256", "--threads", "1"});
  ASSERT_EQ(warm.wait_exit(), 0) << warm.output();
  EXPECT_TRUE(std::regex_search(warm.output(), std::regex("warm: 2 answers \\(1 by the model\\), [0-9]+ bytes "
                                                          "written to " + semantic)))
      << warm.output();
  // Exactly the request the shorthand stands for: any other field is another key.
  const std::string body = R"({"messages":[{"role":"user","content":"What is the capital of France?"}],)"
                           R"("temperature":0})";
  const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  for (const bool matching : {true, false}) {
    Process serve({"serve", "--host", "127.0.0.1", "--port", "0", "--shards", "1", "--no-pin", "--ctx-size", "256",
                   "--threads", "1", "--embedding-model", bert, "--embedding-threads", "1", "--semantic-cache-file",
                   semantic, "--model-name", matching ? "ringserve-demo-random-weights" : "renamed"});
    const uint16_t port = start_server(serve);
    ASSERT_NE(port, 0);
    const std::string said = matching ? "semantic cache: 2 answers from " + semantic + " in"
                                      : "semantic cache file refused: " + semantic + ": model id "
                                        "\"ringserve-demo-random-weights\" is not this server's \"renamed\" "
                                        "\\(--model-name\\); serving without it";
    EXPECT_TRUE(serve.wait_for_line(said)) << serve.output();
    ASSERT_TRUE(serve.wait_for_line("ready: serving")) << serve.output();
    const auto response = fetch(port, request);
    ASSERT_TRUE(response && response->status == 200);
    EXPECT_EQ(response->header("x-ringserve-cache").value_or(""), matching ? "exact" : "") << response->body;
    EXPECT_EQ(response->body.find(R"("content":"Paris.")") != std::string::npos, matching) << response->body;
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait_exit(), 0) << serve.output();
  }
  for (const std::string& file : {bert, questions, semantic}) std::filesystem::remove(file);
}

TEST(Binary, PackQuantizesAndCorruptFilesGiveOneLineErrors) {
  const std::string source = temp_file("pack-source.gguf"), packed = temp_file("packed.gguf");
  ASSERT_EQ(Process({"synth", "--preset", "tiny", "-o", source}).wait_exit(), 0);
  Process pack({"pack", source, "-o", packed, "--type", "q4_0"});
  ASSERT_EQ(pack.wait_exit(), 0) << pack.output();
  Process inspect({"inspect", "--json", packed});
  ASSERT_EQ(inspect.wait_exit(), 0);
  EXPECT_NE(inspect.output().find(R"("alignment":4096)"), std::string::npos);
  EXPECT_NE(inspect.output().find(R"({"name":"blk.1.ffn_down.weight","type":"q4_0")"), std::string::npos);

  std::string bytes = file_bytes(source);
  bytes.resize(bytes.size() / 2);  // cut in the middle of the tensor data
  const std::string broken = temp_file("broken.gguf");
  std::ofstream(broken, std::ios::binary) << bytes;
  Process bad({"inspect", broken});
  EXPECT_EQ(bad.wait_exit(), 1);
  EXPECT_NE(bad.output().find(broken + ": tensor"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace rs::test

namespace rs::test {
namespace {

// Runs the binary with `input` on stdin; returns its exit code and output.
std::pair<int, std::string> run_with_stdin(const std::vector<std::string>& args, const std::string& input) {
  const std::string in = temp_file("stdin.txt");
  std::ofstream(in, std::ios::binary) << input;
  std::string command = std::string(RINGSERVE_BINARY);
  for (const std::string& a : args) command += " '" + a + "'";
  command += " < '" + in + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A file under ../shared, or "" when a plain clone has none (a failure under CI).
std::string shared_file(const std::string& relative) {
  const std::string path = std::string(RINGSERVE_SOURCE_DIR) + "/../shared/" + relative;
  if (std::filesystem::exists(path)) return path;
  if (under_ci()) ADD_FAILURE() << path << " missing under CI";
  return "";
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// tests/data/llama_cpp_reference.json: llama.cpp's ids for stories260K.
TEST(Binary, TokenizeAndDetokenizeAgreeWithLlamaCpp) {
  const std::string model = shared_file("models/stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "../shared is absent in a plain clone";
  EXPECT_EQ(run_with_stdin({"tokenize", "--model", model}, "Once upon a time"),
            (std::pair<int, std::string>{0, "[1,403,407,261,378]\n"}));
  EXPECT_EQ(run_with_stdin({"tokenize", "--model", model, "--no-bos"}, "Once upon a time").second,
            "[403,407,261,378]\n");
  EXPECT_EQ(run_with_stdin({"detokenize", "--model", model},
                           "[432,383,286,261,376,298,315,421,395,317,426,338,401,396,267,337,410,408,419,292,"
                           "411,322,265,282,295,433,426,385,328,432]"),
            (std::pair<int, std::string>{
                0, ", there was a little girl named Lily. She loved to play outside in the park. One day,"}));
  const auto [status, output] = run_with_stdin({"detokenize", "--model", model}, "[1, 600]");
  EXPECT_EQ(status, 1);
  EXPECT_NE(output.find("token id 600 is outside the vocabulary of 512"), std::string::npos) << output;
}

TEST(Binary, TokenizeReadsSpecialTokensOnlyWithSpecial) {
  const std::string model = shared_file("tokenizers/llama3.2-vocab.gguf");
  if (model.empty()) GTEST_SKIP() << "../shared is absent in a plain clone";
  EXPECT_EQ(run_with_stdin({"tokenize", "--model", model, "--special"}, "<|eot_id|>"),
            (std::pair<int, std::string>{0, "[128000,128009]\n"}));
  const auto [status, plain] = run_with_stdin({"tokenize", "--model", model}, "<|eot_id|>");
  EXPECT_EQ(status, 0);
  EXPECT_EQ(plain.find("128009"), std::string::npos) << plain;
}

TEST(Binary, TemplateRendersMessagesAsTheModelFamilyDoes) {
  const std::string llama3 = shared_file("tokenizers/llama3.2-vocab.gguf");
  const std::string llama2 = shared_file("tokenizers/llama2-vocab.gguf");
  if (llama3.empty() || llama2.empty()) GTEST_SKIP() << "../shared is absent in a plain clone";
  const std::string messages = R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}])";
  const std::string body =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
  EXPECT_EQ(run_with_stdin({"template", "--model", llama3, "--chat-template", "llama3"}, messages),
            (std::pair<int, std::string>{0, body + "<|start_header_id|>assistant<|end_header_id|>\n\n"}));
  EXPECT_EQ(run_with_stdin({"template", "--model", llama3, "--chat-template", "llama3", "--no-generation-prompt"},
                           messages),
            (std::pair<int, std::string>{0, body}));
  // This vocabulary carries no template: ChatML, with one warning saying what to do.
  const auto [status, chatml] = run_with_stdin({"template", "--model", llama3}, messages);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(count_of(chatml, "WARN"), 1u) << chatml;
  EXPECT_NE(chatml.find("--chat-template"), std::string::npos) << chatml;
  EXPECT_NE(chatml.find("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"), std::string::npos) << chatml;

  const auto [bad_status, bad_json] = run_with_stdin({"template", "--model", llama3}, R"([{"role":"user")");
  EXPECT_EQ(bad_status, 1);
  EXPECT_NE(bad_json.find("ERROR"), std::string::npos) << bad_json;
  const auto [raised, message] = run_with_stdin({"template", "--model", llama2, "--chat-template", "llama2"},
                                                R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])");
  EXPECT_EQ(raised, 1);
  EXPECT_NE(message.find("Conversation roles must alternate user/assistant/user/assistant/..."), std::string::npos)
      << message;
}

// tests/data/llama_cpp_reference.json: llama.cpp's greedy continuation, through the whole binary.
TEST(Binary, RunContinuesTheStoryAsLlamaCppDoes) {
  const std::string model = shared_file("models/stories260K.gguf");
  if (model.empty()) GTEST_SKIP() << "../shared is absent in a plain clone";
  const auto [status, output] =
      run_with_stdin({"run", "--model", model, "-p", "Once upon a time", "-n", "30", "--json", "--log-level", "warn"}, "");
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output.rfind("{\"prompt_tokens\":[1,403,407,261,378],\"tokens\":[432,383,286,261,376,298,315,421,395,317,426,"
                         "338,401,396,267,337,410,408,419,292,411,322,265,282,295,433,426,385,328,432],\"text\":\""
                         ", there was a little girl named Lily. She loved to play outside in the park. One day,\",",
                         0),
            0u)
      << output;
  // The demo model needs no file; its weights are random, so only the shape of the answer is known.
  const auto [demo_status, demo] = run_with_stdin({"run", "-p", "Hi", "-n", "4", "--json", "--log-level", "warn"}, "");
  EXPECT_EQ(demo_status, 0) << demo;
  EXPECT_NE(demo.find("\"decode_tok_s\":"), std::string::npos) << demo;
}

struct F32Tensor {
  std::string name;
  std::vector<uint64_t> shape;  // row-major, as safetensors lists it
  std::vector<float> values;
};

// A safetensors file, its header padded to 8 bytes as the format asks.
void write_safetensors(const std::string& path, const std::vector<F32Tensor>& tensors) {
  std::string header = "{";
  uint64_t offset = 0;
  for (const F32Tensor& t : tensors) {
    std::string shape;
    for (const uint64_t n : t.shape) shape.append(shape.empty() ? "" : ",").append(std::to_string(n));
    const uint64_t end = offset + t.values.size() * sizeof(float);
    header.append(header.size() > 1 ? ",\"" : "\"").append(t.name).append("\":{\"dtype\":\"F32\",\"shape\":[");
    header.append(shape).append("],\"data_offsets\":[").append(std::to_string(offset)).append(",");
    header.append(std::to_string(end)).append("]}");
    offset = end;
  }
  header += "}";
  header.resize((header.size() + 7) / 8 * 8, ' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t length = header.size();
  out.write(reinterpret_cast<const char*>(&length), sizeof length);
  out << header;
  for (const F32Tensor& t : tensors) {
    out.write(reinterpret_cast<const char*>(t.values.data()), std::streamsize(t.values.size() * sizeof(float)));
  }
}

// SmolLM2's vocabulary: "A" is 49; <|endoftext|> (0) ends generation, as its eos <|im_end|> (2) does.
constexpr uint64_t kVocab = 49152, kA = 49, kEndOfText = 0, kDim = 64;

// A Hugging Face directory of a one-layer llama with SmolLM2's tokenizer whose attention and MLP weights are 0, so
// the last token alone decides: its embedding is e0 ("A": e1), and the LM head maps e0 to "A", e1 to <|endoftext|>.
// After any prompt it says "A", then <|endoftext|>.
std::string write_a_then_end_of_text_model(const std::string& tokenizer_json) {
  const std::string dir = temp_file("a-then-endoftext");
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(tokenizer_json, dir + "/tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir + "/config.json")
      << R"({"architectures":["LlamaForCausalLM"],"hidden_size":64,"intermediate_size":64,"num_hidden_layers":1,)"
         R"("num_attention_heads":4,"num_key_value_heads":4,"vocab_size":49152,"max_position_embeddings":256,)"
         R"("rms_norm_eps":1e-05,"tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2})";
  const auto matrix = [](std::string name, uint64_t rows, uint64_t cols) {
    return F32Tensor{std::move(name), {rows, cols}, std::vector<float>(rows * cols, 0.0f)};
  };
  const auto ones = [](std::string name) {
    return F32Tensor{std::move(name), {kDim}, std::vector<float>(kDim, 1.0f)};
  };
  F32Tensor embedding = matrix("model.embed_tokens.weight", kVocab, kDim);
  for (uint64_t token = 0; token < kVocab; ++token) embedding.values[token * kDim + (token == kA ? 1 : 0)] = 1.0f;
  F32Tensor head = matrix("lm_head.weight", kVocab, kDim);
  head.values[kA * kDim + 0] = 1.0f;
  head.values[kEndOfText * kDim + 1] = 1.0f;
  const auto square = [&](const std::string& name) { return matrix(name, kDim, kDim); };
  const std::string layer = "model.layers.0.";
  write_safetensors(dir + "/model.safetensors",
                    {embedding, ones(layer + "input_layernorm.weight"), square(layer + "self_attn.q_proj.weight"),
                     square(layer + "self_attn.k_proj.weight"), square(layer + "self_attn.v_proj.weight"),
                     square(layer + "self_attn.o_proj.weight"), ones(layer + "post_attention_layernorm.weight"),
                     square(layer + "mlp.gate_proj.weight"), square(layer + "mlp.up_proj.weight"),
                     square(layer + "mlp.down_proj.weight"), ones("model.norm.weight"), head});
  return dir;
}

// run stops where serve does: on every end-of-generation token of the model, not only its eos.
TEST(Binary, RunStopsOnEveryEndOfGenerationToken) {
  const std::string tokenizer = shared_file("tokenizers/smollm2-tokenizer.json");
  if (tokenizer.empty()) GTEST_SKIP() << "../shared is absent in a plain clone";
  const std::string model = write_a_then_end_of_text_model(tokenizer);
  const auto [status, output] =
      run_with_stdin({"run", "--model", model, "-p", "Hi", "-n", "8", "--json", "--log-level", "warn"}, "");
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find(R"(,"tokens":[49],"text":"A",)"), std::string::npos) << output;
  const auto [ignoring, ignored] = run_with_stdin(
      {"run", "--model", model, "-p", "Hi", "-n", "6", "--ignore-eos", "--json", "--log-level", "warn"}, "");
  EXPECT_EQ(ignoring, 0) << ignored;
  EXPECT_NE(ignored.find(R"(,"tokens":[49,0,49,0,49,0],"text":"AAA",)"), std::string::npos) << ignored;
  std::filesystem::remove_all(model);
}

// run holds its output to a constraint as a request does; one it cannot compile is an error naming it.
TEST(Binary, RunConstrainsItsOutputToARegexOrAGrammar) {
  const auto [status, output] = run_with_stdin({"run", "-p", "Hi", "-n", "40", "--temp", "1", "--seed", "3", "--regex",
                                                "(yes|no)-[0-9]{2}", "--json", "--log-level", "warn"},
                                               "");
  EXPECT_EQ(status, 0) << output;
  EXPECT_TRUE(std::regex_search(output, std::regex(R"("text":"(yes|no)-[0-9]{2}")"))) << output;
  const std::string grammar = std::filesystem::temp_directory_path() / ("rs-run-grammar-" + std::to_string(getpid()));
  std::ofstream(grammar) << "root ::= \"[\" [0-9] (\",\" [0-9])* \"]\"\n";
  const auto [listed, list] =
      run_with_stdin({"run", "-p", "Hi", "-n", "60", "--grammar-file", grammar, "--json", "--log-level", "warn"}, "");
  EXPECT_EQ(listed, 0) << list;
  EXPECT_NE(list.find(R"("text":"[)"), std::string::npos) << list;
  std::filesystem::remove(grammar);
  const auto [refused, why] = run_with_stdin({"run", "-p", "Hi", "--regex", "(?=a)", "--log-level", "warn"}, "");
  EXPECT_EQ(refused, 1);
  EXPECT_NE(why.find("lookahead"), std::string::npos) << why;
}

}  // namespace
}  // namespace rs::test
