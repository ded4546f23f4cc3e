// A strict little JSON reader for the writer tests: enough to walk speedscope and .cpuprofile
// output and to fail on anything that is not JSON (the integration tests use the real consumers).
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace loopperf::test {

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::map<std::string, Json> obj;

  const Json& operator[](const std::string& key) const {
    static const Json missing;
    auto it = obj.find(key);
    return it == obj.end() ? missing : it->second;
  }
  const Json& operator[](size_t i) const { return arr.at(i); }
  bool has(const std::string& key) const { return obj.count(key) > 0; }
  int64_t i() const { return static_cast<int64_t>(num); }
};

class JsonReader {
 public:
  explicit JsonReader(const std::string& s) : s_(s) {}
  Json parse() {
    Json v = value();
    ws();
    REQUIRE(pos_ == s_.size());
    return v;
  }

 private:
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) pos_++;
  }
  char peek() {
    ws();
    REQUIRE(pos_ < s_.size());
    return s_[pos_];
  }
  void expect(char c) {
    REQUIRE(peek() == c);
    pos_++;
  }
  Json value() {
    Json v;
    char c = peek();
    if (c == '{') {
      v.kind = Json::kObject;
      pos_++;
      if (peek() == '}') return pos_++, v;
      for (;;) {
        std::string key = string();
        expect(':');
        v.obj[key] = value();
        if (peek() == ',') { pos_++; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::kArray;
      pos_++;
      if (peek() == ']') return pos_++, v;
      for (;;) {
        v.arr.push_back(value());
        if (peek() == ',') { pos_++; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::kString;
      v.str = string();
      return v;
    }
    for (const char* word : {"true", "false", "null"}) {
      if (s_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        v.kind = word[0] == 'n' ? Json::kNull : Json::kBool;
        v.b = word[0] == 't';
        return v;
      }
    }
    char* end = nullptr;
    v.kind = Json::kNumber;
    v.num = std::strtod(s_.c_str() + pos_, &end);
    REQUIRE(end != s_.c_str() + pos_);
    pos_ = static_cast<size_t>(end - s_.c_str());
    return v;
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      REQUIRE(pos_ < s_.size());
      char c = s_[pos_++];
      if (c == '"') return out;
      REQUIRE(static_cast<unsigned char>(c) >= 0x20);  // raw control characters are not JSON
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      char e = s_[pos_++];
      if (e == 'u') {
        unsigned code = static_cast<unsigned>(std::stoul(s_.substr(pos_, 4), nullptr, 16));
        pos_ += 4;
        if (code < 0x80) out.push_back(static_cast<char>(code));
        else out += "?";  // enough for the tests: they only check that it parses
        continue;
      }
      REQUIRE(std::string("\"\\/bfnrt").find(e) != std::string::npos);
      out.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e);
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

inline Json parse_json(const std::string& s) { return JsonReader(s).parse(); }

}  // namespace loopperf::test
