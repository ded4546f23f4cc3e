#include "loopperf/process/status.h"

#include <cerrno>
#include <cstring>
#include <charconv>

#include "loopperf/common/fs.h"

namespace loopperf::process {

namespace {

// The whitespace-separated fields of a status value ("1000\t1000\t1000\t1000").
std::vector<std::string_view> fields_of(std::string_view value) {
  std::vector<std::string_view> out;
  while (!value.empty()) {
    size_t b = value.find_first_not_of(" \t");
    if (b == std::string_view::npos) break;
    value.remove_prefix(b);
    size_t e = value.find_first_of(" \t");
    out.push_back(value.substr(0, e));
    value.remove_prefix(e == std::string_view::npos ? value.size() : e);
  }
  return out;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The first field as a number, when it is one.
template <typename T>
std::optional<T> first_number(std::string_view value) {
  auto f = fields_of(value);
  return f.empty() ? std::nullopt : number<T>(f[0]);
}

}  // namespace

ProcStatus parse_status(std::string_view text) {
  ProcStatus st;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (key == "Name") {
      size_t b = value.find_first_not_of(" \t");
      st.name = b == std::string_view::npos ? std::string() : std::string(value.substr(b));
    } else if (key == "State") {
      auto f = fields_of(value);
      if (!f.empty()) st.state = f[0][0];
    } else if (key == "Tgid") {
      st.tgid = first_number<pid_t>(value).value_or(0);
    } else if (key == "PPid") {
      st.ppid = first_number<pid_t>(value).value_or(0);
    } else if (key == "NSpid") {
      st.nspid.clear();
      for (std::string_view f : fields_of(value)) {
        auto p = number<pid_t>(f);
        if (!p) {
          st.nspid.clear();  // a malformed list says nothing reliable about the innermost pid
          break;
        }
        st.nspid.push_back(*p);
      }
    } else if (key == "Uid") {
      if (auto u = first_number<uid_t>(value)) st.uid = *u;
    } else if (key == "Gid") {
      if (auto g = first_number<gid_t>(value)) st.gid = *g;
    }
  }
  return st;
}

Result<ProcStatus> read_status(pid_t pid) {
  if (pid <= 0) return make_error(ErrorCode::kUsage, "invalid pid " + std::to_string(pid));
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/status");
  if (!text) {
    int err = errno;
    if (err == EMFILE || err == ENFILE)
      return make_error(ErrorCode::kResource, "cannot read /proc/" + std::to_string(pid) + ": " + std::strerror(err),
                        "raise `ulimit -n`");
    if (err == EACCES || err == EPERM)
      return make_error(ErrorCode::kPermission,
                        "cannot read /proc/" + std::to_string(pid) + ": permission denied",
                        "run as the target's user or as root (hidepid mount option?)");
    return make_error(ErrorCode::kNoProcess, "no process with pid " + std::to_string(pid),
                      "check the pid with `pgrep -a node`");
  }
  return parse_status(*text);
}

}  // namespace loopperf::process
