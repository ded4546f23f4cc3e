// A minimal streaming JSON writer for loopperf's outputs (report --format json, ...). It writes
// valid JSON by construction: commas and escaping are handled here, not by callers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loopperf {

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = true) : pretty_(pretty) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();

  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& str() const { return out_; }
  // Appends `s` as a JSON string literal. `html_safe` also escapes '<', so the JSON can sit inside an
  // HTML <script> element ("</script>" in a name would end it).
  static void escape_to(std::string& out, std::string_view s, bool html_safe = false);

 private:
  void before_value();
  void newline();
  std::string out_;
  struct Level {
    bool array;
    bool empty;
  };
  std::vector<Level> stack_;
  bool after_key_ = false;
  bool pretty_;
};

}  // namespace loopperf
