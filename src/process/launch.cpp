#include "loopperf/process/launch.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <regex>

namespace loopperf::process {

namespace {
constexpr const char* kPerfMapFlags = "--perf-basic-prof --interpreted-frames-native-stack";

bool is_node_command(const std::string& arg0) {
  std::string base = arg0.substr(arg0.rfind('/') == std::string::npos ? 0 : arg0.rfind('/') + 1);
  return base == "node" || base == "nodejs";
}
}  // namespace

LaunchPlan plan_launch(const LaunchOptions& opts, const char* existing_node_options) {
  LaunchPlan plan;
  plan.argv = opts.argv;
  if (!opts.perf_map || opts.argv.empty()) return plan;
  if (is_node_command(opts.argv[0])) {
    // node itself: flags on its command line, where --logfile is allowed, so V8's isolate log goes to
    // our private directory instead of the user's working directory.
    plan.argv_is_node = true;
    std::vector<std::string> flags = {"--perf-basic-prof", "--interpreted-frames-native-stack"};
    if (!opts.v8_log_dir.empty()) {
      flags.push_back("--logfile=" + opts.v8_log_dir + "/v8.log");
      flags.push_back("--no-logfile-per-isolate");
    }
    plan.argv.insert(plan.argv.begin() + 1, flags.begin(), flags.end());
  } else {
    // A wrapper (npm, a shell script ...): only NODE_OPTIONS reaches the node inside; --logfile is
    // not allowed there, so the logs are removed after the run (cleanup_v8_logs).
    std::string existing = existing_node_options ? existing_node_options : "";
    plan.node_options = existing.empty() ? kPerfMapFlags : existing + " " + kPerfMapFlags;
  }
  return plan;
}

std::vector<std::string> without_launch_flags(const std::vector<std::string>& cmdline, const std::string& v8_log_dir) {
  std::vector<std::string> out;
  const std::string logfile = "--logfile=" + v8_log_dir + "/v8.log";
  bool options = true;  // node's own options come before the script; what follows is the script's
  for (size_t i = 0; i < cmdline.size(); i++) {
    const std::string& a = cmdline[i];
    if (i > 0 && (a.empty() || a[0] != '-')) options = false;
    const bool ours = i > 0 && options &&
                      (a == "--perf-basic-prof" || a == "--interpreted-frames-native-stack" ||
                       (!v8_log_dir.empty() && (a == logfile || a == "--no-logfile-per-isolate")));
    if (!ours) out.push_back(a);
  }
  return out;
}

LaunchedChild::~LaunchedChild() = default;

Status LaunchedChild::start(const LaunchOptions& opts) {
  if (opts.argv.empty()) return make_error(ErrorCode::kUsage, "no command given after --");
  LaunchPlan plan = plan_launch(opts, std::getenv("NODE_OPTIONS"));
  argv_is_node_ = plan.argv_is_node;
  perf_map_ = opts.perf_map;
  program_ = opts.argv[0];
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd)) cwd_ = cwd;
  start_time_ = static_cast<long long>(::time(nullptr));

  int gate[2], err[2];
  if (::pipe2(gate, O_CLOEXEC) != 0)
    return make_error(ErrorCode::kResource, std::string("pipe: ") + std::strerror(errno), "raise `ulimit -n`");
  UniqueFd gate_read(gate[0]), gate_write(gate[1]);
  if (::pipe2(err, O_CLOEXEC) != 0)
    return make_error(ErrorCode::kResource, std::string("pipe: ") + std::strerror(errno), "raise `ulimit -n`");
  UniqueFd err_read(err[0]), err_write(err[1]);

  std::vector<char*> argv;
  for (auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::kLaunch, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on (plain close(): no destructor runs after exec
    // or _exit, and the UniqueFd copies of these fds are the parent's).
    ::close(gate[1]);
    ::close(err[0]);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    char c;
    while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::close(gate[0]);
    if (!plan.node_options.empty()) ::setenv("NODE_OPTIONS", plan.node_options.c_str(), 1);
    ::execvp(argv[0], argv.data());
    int e = errno;
    ssize_t ignored = ::write(err[1], &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }
  pid_ = pid;
  gate_fd_ = std::move(gate_write);  // the read end and err's write end are the child's: closed here
  error_fd_ = std::move(err_read);
  return {};
}

Status LaunchedChild::release() {
  gate_fd_.reset();
  int e = 0;
  ssize_t n;
  do {
    n = ::read(error_fd_.get(), &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  error_fd_.reset();
  if (n == static_cast<ssize_t>(sizeof e)) {
    wait();
    return make_error(ErrorCode::kLaunch, "cannot run the command '" + program_ + "': " + std::strerror(e),
                      e == ENOENT ? (program_.find('/') == std::string::npos ? "check the program name and PATH"
                                                                             : "check the program's path")
                                  : "check the program's permissions");
  }
  return {};
}

static int shell_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

bool LaunchedChild::poll_exit() {
  if (exited_ || pid_ <= 0) return exited_;
  // The wall sampler (another thread of ours) may ptrace this child. The kernel then reports the
  // child's ptrace stops to any waiter of our process, and a waitpid() here would consume the stop
  // the sampler waits for, leaving the child stopped. WNOWAIT only peeks; WEXITED asks for exits.
  siginfo_t si{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG | WNOWAIT | __WNOTHREAD) != 0) {
    // ECHILD: the child is gone and its exit was taken by another wait of ours. The wall sampler's
    // wait used to do that (it reaped a tracee of our thread group that exited while being
    // stopped); it now leaves such exits to us (PtraceStop::wait_for_stop), and this is the safety
    // net: without it record kept waiting for a child that no longer existed, forever.
    if (errno != ECHILD) return false;
    exited_ = lost_ = true;
    status_ = kStatusLost;
    return true;
  }
  if (si.si_pid != pid_ || (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED && si.si_code != CLD_DUMPED))
    return false;
  return wait(), true;
}

int LaunchedChild::wait() {
  while (!exited_ && pid_ > 0) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, __WNOTHREAD);
    if (r == pid_) {
      exited_ = true;
      status_ = shell_status(status);
    } else if (r < 0 && errno == ECHILD) {
      exited_ = lost_ = true;  // reaped by another wait of ours (see poll_exit)
      status_ = kStatusLost;
    } else if (r < 0 && errno != EINTR) {
      break;
    }
  }
  return status_;
}

void LaunchedChild::signal(int sig) {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

void LaunchedChild::cleanup_v8_logs() {
  if (!perf_map_ || argv_is_node_ || cwd_.empty()) return;
  static const std::regex kIsolateLog(R"(isolate-0x[0-9a-f]+-[0-9]+-v8\.log)");
  DIR* dir = ::opendir(cwd_.c_str());
  if (!dir) return;
  while (dirent* e = ::readdir(dir)) {
    if (!std::regex_match(e->d_name, kIsolateLog)) continue;
    std::string path = cwd_ + "/" + e->d_name;
    struct stat st;
    // Only logs that appeared during this run: an older one belongs to someone else.
    if (::stat(path.c_str(), &st) == 0 && st.st_mtime >= start_time_ && S_ISREG(st.st_mode)) ::unlink(path.c_str());
  }
  ::closedir(dir);
}

}  // namespace loopperf::process
