// One-line summaries of stacks: what a person reads first in a report.
#include <algorithm>
#include <string>
#include <vector>

#include "loopperf/loop/classifier.h"
#include "loopperf/loop/rules.h"
#include "loopperf/report/report.h"
#include "report_internal.h"

namespace loopperf::report {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Node's own implementation: hidden so the user's code is what shows.
bool is_node_internal(const ExpandedFrame& f) {
  if (!f.fn) return false;
  const std::string& file = f.fn->file;
  // node:internal/* and the underscore modules (node:_http_common, node:_stream_readable ...).
  return starts_with(file, "node:internal/") || starts_with(file, "internal/") || starts_with(file, "node:_");
}

bool is_public_node_api(const ExpandedFrame& f) {
  return f.fn && starts_with(f.fn->file, "node:") && !is_node_internal(f);
}

// A package's code (a framework, a library): under node_modules.
bool is_package(const ExpandedFrame& f) { return f.fn && f.fn->file.find("/node_modules/") != std::string::npos; }

// The user's own code: JavaScript that is neither node's nor a package's.
bool is_first_party(const ExpandedFrame& f) {
  return f.fn && !f.fn->file.empty() && !is_package(f) && !starts_with(f.fn->file, "node:") && !is_node_internal(f);
}

// V8 trampolines and API glue between JS and C++: never the interesting part of a stack.
bool is_glue(std::string_view name) {
  static constexpr std::string_view kGlue[] = {
      "Builtins_CEntry", "Builtins_JSEntry", "Builtins_InterpreterEntryTrampoline", "Builtins_InterpreterPushArgs",
      "Builtins_Call", "Builtins_Construct", "Builtins_ArgumentsAdaptor", "Builtins_JSBuiltinsConstructStub",
      "Builtins_JSConstructStub", "Builtins_BaselineOutOfLinePrologue", "Builtins_InterpreterOnStackReplacement",
      "Builtin:CEntry", "Builtin:JSEntry", "Builtin:InterpreterEntryTrampoline", "Builtin:Call",
      "v8::internal::FunctionCallbackArguments::", "v8::internal::(anonymous namespace)::HandleApiCallHelper",
      "v8::internal::Builtin_HandleApiCall", "v8::internal::Execution::", "v8::internal::(anonymous namespace)::Invoke",
      "v8::Function::Call", "node::InternalMakeCallback", "node::MakeCallback",
  };
  // Demangled template functions start with their return type, so look anywhere in the name.
  for (auto g : kGlue)
    if (name.find(g) != std::string_view::npos) return true;
  return false;
}

bool in_system_library(const ExpandedFrame& f) {
  if (!f.mapping) return false;
  std::string base = basename(f.mapping->file);
  return starts_with(base, "libc.so") || starts_with(base, "libc-") || starts_with(base, "ld-linux") ||
         starts_with(base, "libpthread") || base == "[vdso]";
}

std::string js_display(const ExpandedFrame& f, bool with_location) {
  std::string name = f.fn && !f.fn->name.empty() ? f.fn->name : "(anonymous)";
  if (with_location && f.fn && !f.fn->file.empty()) {
    name += " (" + basename(f.fn->file);
    if (f.line > 0) name += ":" + std::to_string(f.line);
    name += ")";
  }
  return name;
}

}  // namespace

std::vector<ExpandedFrame> expand(const profile::Profile& p, const profile::SampleView& s) {
  std::vector<ExpandedFrame> out;
  for (uint64_t id : s.location_ids) {
    const profile::Location* loc = p.location(id);
    if (!loc) continue;
    const profile::Mapping* m = p.mapping(loc->mapping_id);
    for (const auto& line : loc->lines) {
      ExpandedFrame f;
      f.fn = p.function(line.function_id);
      f.mapping = m;
      f.line = line.line ? line.line : (f.fn ? f.fn->start_line : 0);
      f.kind = profile::frame_kind(p, *loc, line);
      f.name = f.fn ? std::string_view(f.fn->name) : std::string_view();
      out.push_back(f);
    }
    if (loc->lines.empty()) {
      ExpandedFrame f;
      f.mapping = m;
      f.name = "[unknown]";
      out.push_back(f);
    }
  }
  return out;
}

std::string short_name(std::string_view name) {
  if (!name.empty() && name[0] == '[') return std::string(name);  // [unknown] libc.so.6, [kernel] ...
  std::string out;
  int angle = 0, brace = 0;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c == '(' && angle == 0 && brace == 0) {
      if (name.substr(i, 21) == "(anonymous namespace)") {
        out += name.substr(i, 21);
        i += 20;
        continue;
      }
      if (out.size() >= 8 && std::string_view(out).substr(out.size() - 8) == "operator" &&
          name.substr(i, 2) == "()") {
        out += "()";
        i += 1;
        continue;
      }
      break;  // the parameter list starts here
    }
    if (c == '<') angle++;
    if (c == '>' && angle > 0) angle--;
    if (c == '{') brace++;
    if (c == '}' && brace > 0) brace--;
    out += c;
  }
  // Template functions carry their return type: "v8::internal::MaybeHandle<...> v8::internal::Foo<false>".
  angle = brace = 0;
  size_t last_space = std::string::npos;
  for (size_t i = 0; i < out.size(); i++) {
    char c = out[i];
    if (c == '<') angle++;
    if (c == '>' && angle > 0) angle--;
    if (c == '{') brace++;
    if (c == '}' && brace > 0) brace--;
    if (c == ' ' && angle == 0 && brace == 0 && out.compare(i + 1, 9, "namespace") != 0) last_space = i;
  }
  if (last_space != std::string::npos && out.find("(anonymous namespace)") > last_space) out = out.substr(last_space + 1);
  return out.empty() ? std::string(name) : out;
}

std::string summarize_stack(const profile::Profile& p, const profile::SampleView& s, std::string_view phase,
                            std::string_view activity) {
  std::vector<ExpandedFrame> frames = expand(p, s);  // leaf first
  // JS frames the user wrote (or the public node API they called), root first.
  std::vector<const ExpandedFrame*> js;
  size_t innermost_js = frames.size();
  bool prev_was_node = false;
  for (size_t i = frames.size(); i-- > 0;) {
    const ExpandedFrame& f = frames[i];
    if (f.kind != profile::FrameKind::kJs) continue;
    innermost_js = i;
    // Public node API frames matter only where user code called them directly (readFileSync),
    // not where node's machinery calls back into user code (emit from node:events at the root)
    // or calls itself (net's Socket._writev under _http_outgoing).
    bool from_node = prev_was_node;
    prev_was_node = is_node_internal(f) || is_public_node_api(f);
    if (is_node_internal(f)) continue;
    if (is_public_node_api(f) && (js.empty() || from_node)) continue;
    if (!js.empty() && js.back()->name == f.name && js.back()->fn == f.fn) continue;  // recursion
    js.push_back(&f);
  }

  // The native part: what the JS was waiting on or computing in.
  std::string native;
  auto outermost = [&](auto pred) -> const ExpandedFrame* {
    for (size_t i = frames.size(); i-- > 0;)
      if (pred(frames[i])) return &frames[i];
    return nullptr;
  };
  const ExpandedFrame* leaf_native = nullptr;
  if (activity == "gc") {
    leaf_native = outermost([](const ExpandedFrame& f) { return loop::has_fact(f.name, loop::Fact::kGc); });
  } else if (activity == "sync-io") {
    leaf_native = outermost([](const ExpandedFrame& f) {
      return loop::has_fact(f.name, loop::Fact::kSyncFs) || loop::has_fact(f.name, loop::Fact::kSyncCall);
    });
  } else if (activity == "idle-wait") {
    leaf_native = outermost([](const ExpandedFrame& f) { return loop::has_fact(f.name, loop::Fact::kPollWait); });
  }
  if (!leaf_native) {
    auto meaningful = [&](const ExpandedFrame& f) {
      return (f.kind == profile::FrameKind::kNative || f.kind == profile::FrameKind::kGc ||
              f.kind == profile::FrameKind::kV8Builtin) &&
             !is_glue(f.name) && !in_system_library(f);
    };
    if (innermost_js < frames.size()) {
      // Below the innermost JS frame: what the JavaScript called, the outermost meaningful callee
      // (node::fs::Read, inflateSync's zlib ...), which groups samples better than the leaf. A
      // builtin is named by the API it implements (JSON.parse); V8's own frames (inline caches,
      // stubs, deoptimization, runtime functions, its C++) belong to the JavaScript that called
      // them, unless they lead on to node's or a library's code (an accessor node implements).
      for (size_t i = innermost_js; i-- > 0;) {
        const ExpandedFrame& f = frames[i];
        if (!meaningful(f)) continue;
        if (std::string_view api = js_api_of(f.name); !api.empty()) {
          native = api;
          break;
        }
        if (loop::is_v8_internal(f.name)) continue;
        leaf_native = &f;
        break;
      }
      // Unnamed JIT code at the leaf: show it, it says JS names are missing.
      if (native.empty() && !leaf_native && innermost_js > 0 && frames[0].kind == profile::FrameKind::kUnknown)
        leaf_native = &frames[0];
    } else {
      // No JavaScript: from the leaf, the first meaningful frame inside the loop. V8's and OpenSSL's
      // internals stand for the nearest caller that is neither (node::crypto's entry that called
      // OpenSSL, node's binding that called into V8), when there is one before uv_run.
      const ExpandedFrame* first = nullptr;  // the first meaningful frame, inside the loop or not
      bool in_loop = true;
      for (const auto& f : frames) {
        if (loop::has_fact(f.name, loop::Fact::kUvRun)) {
          in_loop = false;
          continue;
        }
        if (!meaningful(f)) continue;
        if (!first) first = &f;
        if (!in_loop) break;
        if (loop::is_v8_internal(f.name) ||
            is_openssl(f.name, f.mapping ? std::string_view(f.mapping->file) : ""))
          continue;
        leaf_native = &f;
        break;
      }
      if (!leaf_native) leaf_native = first;
      if (!leaf_native && !frames.empty()) leaf_native = &frames.front();
    }
  }
  if (leaf_native) native = short_name(leaf_native->name);

  std::vector<std::string> parts;
  parts.emplace_back(phase);
  const auto first_party = std::find_if(js.begin(), js.end(), [](const ExpandedFrame* f) { return is_first_party(*f); });
  const bool packages = std::any_of(js.begin(), js.end(), [](const ExpandedFrame* f) { return is_package(*f); });
  if (first_party != js.end() && packages) {
    // Through the frames that explain it: the user's outermost frame (what a framework called),
    // the user's innermost one, the call it made (a package's API, node's), and the innermost
    // JavaScript; the framework above and the rest in between folded.
    js.erase(js.begin(), first_party);
    size_t inner = 0;
    for (size_t i = 0; i < js.size(); i++)
      if (is_first_party(*js[i])) inner = i;
    const size_t call = inner + 1 < js.size() ? inner + 1 : inner;
    const size_t last = js.size() - 1;
    parts.push_back(js_display(*js[0], true));
    if (inner > 1) parts.emplace_back("…");
    if (inner > 0) parts.push_back(js_display(*js[inner], false));
    if (call > inner) parts.push_back(js_display(*js[call], false));
    if (last > call + 1) parts.emplace_back("…");
    if (last > call) parts.push_back(js_display(*js[last], false));
  } else {
    for (size_t i = 0; i < js.size(); i++) {
      if (js.size() > 4 && i > 0 && i < js.size() - 2) {
        if (i == 1) parts.emplace_back("…");
        continue;
      }
      parts.push_back(js_display(*js[i], i == 0));
    }
  }
  if (!native.empty() && (parts.size() == 1 || parts.back() != native)) parts.push_back(native);
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += " › ";
    out += part;
  }
  return out;
}

}  // namespace loopperf::report
