#include "loopperf/record/replay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "loopperf/common/fs.h"
#include "loopperf/common/unique_fd.h"
#include "loopperf/process/maps.h"
#include "loopperf/process/status.h"
#include "loopperf/process/target_files.h"

namespace loopperf::record {

namespace {

enum class Kind : uint8_t { kCpu = 1, kWall = 2, kPoll = 3, kThreadFound = 4, kThreadEnded = 5, kFlush = 6, kSched = 7 };

Error io_error(const std::string& what) {
  return make_error(ErrorCode::kOutput, what + ": " + std::strerror(errno), "check the directory and the free space");
}

// Copies everything readable from `fd` (from offset 0) to a new file `to`.
Status copy_fd(int fd, const std::string& to) {
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (out.get() < 0) return io_error("cannot create " + to);
  std::vector<char> buf(1 << 20);
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot read the file saved as " + to);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return io_error("cannot write " + to);
      done += w;
    }
    off += n;
  }
  return {};
}

Status write_text(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "we");
  if (!f) return io_error("cannot create " + path);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return io_error("cannot write " + path);
  return {};
}

std::string maps_line(const process::MapEntry& m) {
  char head[160];
  std::snprintf(head, sizeof head, "%llx-%llx %c%c%c%c %08llx %s %llu", static_cast<unsigned long long>(m.start),
                static_cast<unsigned long long>(m.end), m.readable ? 'r' : '-', m.writable ? 'w' : '-',
                m.executable ? 'x' : '-', m.is_private ? 'p' : 's', static_cast<unsigned long long>(m.offset),
                m.dev.empty() ? "00:00" : m.dev.c_str(), static_cast<unsigned long long>(m.inode));
  return std::string(head) + (m.path.empty() ? "" : "    " + m.path) + "\n";
}

// Reads the events file back, one event at a time.
class EventReader {
 public:
  explicit EventReader(std::FILE* f) : f_(f) {}
  template <typename T>
  bool get(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    return std::fread(&v, sizeof v, 1, f_) == 1;
  }
  template <typename T>
  bool get_vector(std::vector<T>& v) {
    uint64_t n = 0;
    if (!get(n) || n > (uint64_t{1} << 28)) return false;
    v.resize(n);
    return n == 0 || std::fread(v.data(), sizeof(T), n, f_) == n;
  }

 private:
  std::FILE* f_;
};

std::map<std::string, std::string> read_info(const std::string& text, std::map<pid_t, std::string>& threads) {
  std::map<std::string, std::string> kv;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string key = line.substr(0, sp), value = line.substr(sp + 1);
    if (key == "thread") {
      size_t sp2 = value.find(' ');
      threads[static_cast<pid_t>(std::stol(value.substr(0, sp2)))] = sp2 == std::string::npos ? "" : value.substr(sp2 + 1);
    } else {
      kv[key] = value;
    }
  }
  return kv;
}

}  // namespace

// ---- capture ----

template <typename T>
static void put(std::FILE* f, bool& failed, const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  failed |= std::fwrite(&v, sizeof v, 1, f) != 1;
}

template <typename T>
static void put_array(std::FILE* f, bool& failed, const T* data, uint64_t n) {
  put(f, failed, n);
  if (n) failed |= std::fwrite(data, sizeof(T), n, f) != n;
}

Result<std::unique_ptr<Capture>> Capture::create(const std::string& dir, pid_t pid) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return io_error("cannot create " + dir);
  if (::mkdir((dir + "/files").c_str(), 0755) != 0) return io_error("cannot create " + dir + "/files");
  auto status = read_small_file("/proc/" + std::to_string(pid) + "/status");
  if (auto st = write_text(dir + "/status", status ? *status : std::string()); !st) return st.error();
  std::FILE* events = std::fopen((dir + "/events.bin").c_str(), "wxe");
  if (!events) return io_error("cannot create " + dir + "/events.bin");
  return std::unique_ptr<Capture>(new Capture(dir, events));
}

Capture::Capture(std::string dir, std::FILE* events) : dir_(std::move(dir)), events_(events) {}

Capture::~Capture() {
  if (events_) std::fclose(events_);
}

void Capture::cpu_sample(const sample::RawSample& s) {
  put(events_, failed_, Kind::kCpu);
  put(events_, failed_, s.pid);
  put(events_, failed_, s.tid);
  put(events_, failed_, s.time_ns);
  put(events_, failed_, s.period);
  put_array(events_, failed_, s.ips, s.ips ? s.nr : 0);
  put_array(events_, failed_, s.regs, s.regs ? s.regs_count : 0);
  put_array(events_, failed_, s.stack, s.stack ? s.stack_size : 0);
}

void Capture::wall_sample(const sample::WallSample& w) {
  put(events_, failed_, Kind::kWall);
  put(events_, failed_, w.tid);
  put(events_, failed_, w.time_ns);
  put(events_, failed_, w.regs);
  put(events_, failed_, w.syscall);
  put_array(events_, failed_, w.stack.data(), w.stack.size());
}

void Capture::poll_event(const sample::PollEvent& e) {
  put(events_, failed_, Kind::kPoll);
  put(events_, failed_, e.tid);
  put(events_, failed_, e.time_ns);
  // 0 exit, 1 enter, 2 gap (whose frame field holds until_ns).
  put(events_, failed_, static_cast<uint8_t>(e.gap ? 2 : e.enter ? 1 : 0));
  put(events_, failed_, e.epfd);
  put(events_, failed_, e.gap ? e.until_ns : e.frame);
}

void Capture::thread_found(pid_t tid, int loop_epfd, uint64_t loop_frame, uint64_t since_ns) {
  put(events_, failed_, Kind::kThreadFound);
  put(events_, failed_, tid);
  put(events_, failed_, loop_epfd);
  put(events_, failed_, loop_frame);
  put(events_, failed_, since_ns);
}

void Capture::thread_ended(pid_t tid, uint64_t time_ns) {
  put(events_, failed_, Kind::kThreadEnded);
  put(events_, failed_, tid);
  put(events_, failed_, time_ns);
}

void Capture::health_flush(uint64_t now_ns) {
  put(events_, failed_, Kind::kFlush);
  put(events_, failed_, now_ns);
}

void Capture::sched_reading(pid_t tid, uint64_t cpu_ns, uint64_t run_delay_ns) {
  put(events_, failed_, Kind::kSched);
  put(events_, failed_, tid);
  put(events_, failed_, cpu_ns);
  put(events_, failed_, run_delay_ns);
}

Status Capture::save_target(Recorder& rec, const std::map<pid_t, std::string>& thread_names) {
  const RecorderOptions& opts = rec.options();
  failed_ |= std::fflush(events_) != 0;
  if (failed_) return io_error("cannot write " + dir_ + "/events.bin");
  std::string maps;
  for (const auto& m : rec.files()->maps()) maps += maps_line(m);
  if (auto st = write_text(dir_ + "/maps", maps); !st) return st;
  for (const process::ModuleFile* f : rec.files()->files()) {
    if (f->fd.get() < 0) continue;
    auto st = copy_fd(f->fd.get(), dir_ + "/files/" + process::TargetFiles::saved_file_name(f->path, f->inode));
    if (!st) return st;
  }
  if (int fd = rec.symbolizer().perf_map_source().fd(); fd >= 0)
    if (auto st = copy_fd(fd, dir_ + "/perf.map"); !st) return st;
  if (opts.kernel) {
    UniqueFd k(::open("/proc/kallsyms", O_RDONLY | O_CLOEXEC));
    if (k.get() >= 0)
      if (auto st = copy_fd(k.get(), dir_ + "/kallsyms"); !st) return st;
  }
  std::string info;
  auto line = [&](const std::string& k, const auto& v) {
    if constexpr (std::is_convertible_v<decltype(v), std::string>) info += k + " " + std::string(v) + "\n";
    else info += k + " " + std::to_string(v) + "\n";
  };
  line("pid", opts.pid);
  line("exe", rec.exe());
  line("is_node", opts.is_node ? 1 : 0);
  line("wall", opts.wall ? 1 : 0);
  line("frequency_hz", opts.frequency_hz);
  line("kernel", opts.kernel ? 1 : 0);
  line("unwind", std::string(unwind::unwind_mode_name(opts.unwind)));
  line("stack_bytes", opts.stack_bytes);
  line("max_stacks", opts.max_stacks);
  line("stall_threshold_ns", opts.stall_threshold_ns);
  line("js_names", std::string(symbols::js_names_mode_name(opts.js_names)));
  line("health", rec.measures_health() ? 1 : 0);
  line("start_ns", rec.start_ns());
  line("end_ns", rec.end_ns());
  for (const auto& [tid, name] : thread_names) info += "thread " + std::to_string(tid) + " " + name + "\n";
  return write_text(dir_ + "/info", info);
}

// ---- replay ----

Result<FinishedProfile> replay_recording(const std::string& dir, profile::RecordingInfo info) {
  auto info_text = read_small_file(dir + "/info", 1 << 24);
  if (!info_text) return make_error(ErrorCode::kInput, "not a saved recording: " + dir + "/info is missing");
  std::map<pid_t, std::string> threads;
  auto kv = read_info(*info_text, threads);
  auto num = [&](const char* k) { return kv.count(k) ? std::stoll(kv[k]) : 0LL; };
  RecorderOptions opts;
  opts.pid = static_cast<pid_t>(num("pid"));
  opts.is_node = num("is_node") != 0;
  opts.wall = num("wall") != 0;
  opts.frequency_hz = static_cast<int>(num("frequency_hz"));
  opts.kernel = num("kernel") != 0;
  auto mode = unwind::parse_unwind_mode(kv["unwind"]);
  if (!mode || opts.frequency_hz <= 0) return make_error(ErrorCode::kInput, dir + "/info is malformed");
  opts.unwind = *mode;
  opts.stack_bytes = static_cast<uint32_t>(num("stack_bytes"));
  opts.max_stacks = static_cast<size_t>(num("max_stacks"));
  opts.stall_threshold_ns = num("stall_threshold_ns");
  if (kv.count("js_names")) {
    auto js = symbols::parse_js_names_mode(kv["js_names"]);
    if (!js) return make_error(ErrorCode::kInput, dir + "/info is malformed");
    opts.js_names = *js;
  }

  auto status_text = read_small_file(dir + "/status");
  std::optional<process::ProcStatus> status;
  if (status_text && !status_text->empty()) status = process::parse_status(*status_text);
  auto maps_text = read_small_file(dir + "/maps", 1 << 26);
  if (!maps_text) return make_error(ErrorCode::kInput, "not a saved recording: " + dir + "/maps is missing");
  SavedSources src;
  src.files = process::TargetFiles::saved(opts.pid, status, process::parse_maps(*maps_text), dir + "/files");
  if (::access((dir + "/perf.map").c_str(), R_OK) == 0) src.perf_map = dir + "/perf.map";
  src.kallsyms = dir + "/kallsyms";

  std::unique_ptr<Recorder> rec = Recorder::for_replay(opts, src);
  rec->start_replay(kv["exe"], opts.is_node, static_cast<uint64_t>(num("start_ns")), num("health") != 0);

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen((dir + "/events.bin").c_str(), "re"), &std::fclose);
  if (!file) return make_error(ErrorCode::kInput, "not a saved recording: " + dir + "/events.bin is missing");
  EventReader in(file.get());
  std::vector<uint64_t> ips, regs;
  std::vector<uint8_t> stack;
  Kind kind;
  while (in.get(kind)) {
    bool ok = true;
    switch (kind) {
      case Kind::kCpu: {
        sample::RawSample s;
        ok = in.get(s.pid) && in.get(s.tid) && in.get(s.time_ns) && in.get(s.period) && in.get_vector(ips) &&
             in.get_vector(regs) && in.get_vector(stack);
        if (!ok) break;
        s.ips = ips.data();
        s.nr = ips.size();
        s.regs = regs.empty() ? nullptr : regs.data();
        s.regs_count = regs.size();
        s.stack = stack.empty() ? nullptr : stack.data();
        s.stack_size = stack.size();
        rec->on_cpu_sample(s);
        break;
      }
      case Kind::kWall: {
        sample::WallSample w;
        ok = in.get(w.tid) && in.get(w.time_ns) && in.get(w.regs) && in.get(w.syscall) && in.get_vector(w.stack);
        if (ok && opts.wall) rec->on_wall_sample(w);
        break;
      }
      case Kind::kPoll: {
        sample::PollEvent e;
        uint8_t enter = 0;
        ok = in.get(e.tid) && in.get(e.time_ns) && in.get(enter) && in.get(e.epfd) && in.get(e.frame);
        e.enter = enter == 1;
        if (enter == 2) e.gap = true, e.until_ns = std::exchange(e.frame, 0);
        if (ok) rec->on_poll_event(e);
        break;
      }
      case Kind::kThreadFound: {
        pid_t tid;
        int epfd;
        uint64_t frame, since;
        ok = in.get(tid) && in.get(epfd) && in.get(frame) && in.get(since);
        if (ok) rec->on_thread_found(tid, epfd, frame, since);
        break;
      }
      case Kind::kThreadEnded: {
        pid_t tid;
        uint64_t t;
        ok = in.get(tid) && in.get(t);
        if (ok) rec->on_thread_ended(tid, t);
        break;
      }
      case Kind::kFlush: {
        uint64_t now;
        ok = in.get(now);
        if (ok) rec->on_health_flush(now);
        break;
      }
      case Kind::kSched: {
        pid_t tid;
        uint64_t cpu, delay;
        ok = in.get(tid) && in.get(cpu) && in.get(delay);
        if (ok) rec->on_sched_reading(tid, cpu, delay);
        break;
      }
      default:
        ok = false;
    }
    if (!ok) return make_error(ErrorCode::kInput, dir + "/events.bin is truncated or not a saved recording");
  }
  rec->stop_replay(static_cast<uint64_t>(num("end_ns")));
  profile::BuildInfo build;
  build.thread_names = threads;
  build.period_ns = 1'000'000'000LL / opts.frequency_hz;
  build.main_binary = kv["exe"];
  return rec->finish_profile(std::move(build), std::move(info));
}

}  // namespace loopperf::record
