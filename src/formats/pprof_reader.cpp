// Gzipped (or plain) perftools.profiles.Profile -> Profile. Input may come from any tool, so every id and
// string index is checked before use, and foreign ids (non-contiguous, any order) are renumbered to
// our index + 1 scheme.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "loopperf/formats/pprof.h"
#include "loopperf/profile/diff_convention.h"
#include "pprof_detail.h"
#include "profile.pb.h"

namespace loopperf::formats {

namespace pb = perftools::profiles;
using profile::Profile;

namespace {

Error bad_input(std::string message) {
  return make_error(ErrorCode::kInput, std::move(message), detail::kPprofHint);
}

bool read_varint(std::string_view d, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= d.size()) return false;
    auto b = static_cast<uint8_t>(d[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// Skips one field's value of wire type `wt` at `pos` (groups included, nested up to protobuf's depth
// limit). False on malformed data.
bool skip_value(std::string_view d, size_t& pos, uint64_t field, uint64_t wt, int depth = 0) {
  uint64_t v;
  switch (wt) {
    case 0:
      return read_varint(d, pos, v);
    case 1:
    case 5: {
      const size_t n = wt == 1 ? 8 : 4;
      if (d.size() - pos < n) return false;
      pos += n;
      return true;
    }
    case 2:
      if (!read_varint(d, pos, v) || v > d.size() - pos) return false;
      pos += v;
      return true;
    case 3:
      if (depth >= 100) return false;
      for (;;) {
        uint64_t tag;
        if (!read_varint(d, pos, tag) || (tag >> 3) == 0) return false;
        if ((tag & 7) == 4) return (tag >> 3) == field;
        if (!skip_value(d, pos, tag >> 3, tag & 7, depth + 1)) return false;
      }
    default:
      return false;
  }
}

enum class Walk { kClean, kRepaired, kGarbled };

// Go writes whatever bytes a symbol or path holds, but the generated proto3 parser refuses non-UTF-8
// strings (and logs about it). The top-level string_table (field 6) is the only string field in
// profile.proto, so one pass over the top-level fields can replace bad entries before parsing. The
// pass accepts everything the real parser accepts (including unknown groups), so kGarbled input would
// fail to parse anyway.
Walk repair_string_table(std::string_view d, std::string& repaired) {
  constexpr uint64_t kStringTableField = 6;
  struct Fix {
    size_t begin, end;
    std::string text;
  };
  std::vector<Fix> fixes;
  size_t pos = 0;
  while (pos < d.size()) {
    const size_t begin = pos;
    uint64_t tag;
    if (!read_varint(d, pos, tag) || (tag >> 3) == 0) return Walk::kGarbled;
    const size_t value = pos;
    if (!skip_value(d, pos, tag >> 3, tag & 7)) return Walk::kGarbled;
    if (tag != ((kStringTableField << 3) | 2)) continue;
    size_t body = value;
    uint64_t len;
    read_varint(d, body, len);  // read once already by skip_value
    const std::string_view text = d.substr(body, len);
    if (!detail::is_valid_utf8(text)) fixes.push_back({begin, pos, detail::to_valid_utf8(text)});
  }
  if (fixes.empty()) return Walk::kClean;
  repaired.clear();
  size_t copied = 0;
  for (const auto& f : fixes) {
    repaired.append(d.substr(copied, f.begin - copied));
    append_varint(repaired, (kStringTableField << 3) | 2);
    append_varint(repaired, f.text.size());
    repaired += f.text;
    copied = f.end;
  }
  repaired.append(d.substr(copied));
  return Walk::kRepaired;
}

constexpr uint64_t kSampleField = 2;

// The top-level message without its samples (field 2), for the generated parser: the samples are
// read from the wire (Decoder::samples), so they are never held as generated messages as well.
// `samples`: how many there are. `d` was walked whole before (repair_string_table): it is
// well-formed.
std::string without_samples(std::string_view d, size_t& samples) {
  std::string out;
  size_t pos = 0, copied = 0;
  samples = 0;
  while (pos < d.size()) {
    const size_t begin = pos;
    uint64_t tag;
    if (!read_varint(d, pos, tag) || !skip_value(d, pos, tag >> 3, tag & 7)) break;
    if (tag == ((kSampleField << 3) | 2)) {
      out.append(d.substr(copied, begin - copied));
      copied = pos;
      samples++;
    }
  }
  out.append(d.substr(copied));
  return out;
}

using IdMap = std::unordered_map<uint64_t, uint64_t>;

class Decoder {
 public:
  // `in`: the message parsed without its samples; `wire`: the whole message, where they are read.
  // `sample_count`: the samples `wire` holds (without_samples).
  // `input`: the buffer `wire` is, when it may be given back as the samples are read (they are
  // read last), or null.
  Decoder(const pb::Profile& in, std::string_view wire, size_t sample_count, detail::PageBuffer* input)
      : in_(in), wire_(wire), sample_count_(sample_count), input_(input) {}

  Result<Profile> run() {
    if (!decode_all()) return bad_input("invalid pprof profile: " + error_);
    return std::move(out_);
  }

 private:
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  bool str(int64_t idx, std::string& out, const std::string& what) {
    if (idx < 0 || idx >= in_.string_table_size())
      return fail(what + " string index " + std::to_string(idx) + " is out of range (the string table has " +
                  std::to_string(in_.string_table_size()) + " entries)");
    out = in_.string_table(static_cast<int>(idx));
    return true;
  }

  bool value_type(const pb::ValueType& in, profile::ValueType& out, const std::string& what) {
    return str(in.type(), out.type, what + " type") && str(in.unit(), out.unit, what + " unit");
  }

  template <typename Items>
  bool index_ids(const Items& items, const char* kind, IdMap& ids) {
    ids.reserve(static_cast<size_t>(items.size()));
    for (int i = 0; i < items.size(); i++) {
      uint64_t id = items[i].id();
      if (id == 0) return fail(std::string(kind) + " #" + std::to_string(i) + " has the reserved id 0");
      if (!ids.emplace(id, static_cast<uint64_t>(i) + 1).second)
        return fail(std::string("two ") + kind + "s share the id " + std::to_string(id));
    }
    return true;
  }

  bool resolve(const IdMap& ids, uint64_t id, uint64_t& out, const char* kind, const std::string& who) {
    auto it = ids.find(id);
    if (it == ids.end())
      return fail(who + " refers to " + kind + " id " + std::to_string(id) + ", which does not exist");
    out = it->second;
    return true;
  }

  bool decode_all() {
    if (in_.string_table_size() == 0 || !in_.string_table(0).empty())
      return fail("string_table[0] must be the empty string");
    for (int i = 0; i < in_.sample_type_size(); i++)
      if (!value_type(in_.sample_type(i), out_.sample_types.emplace_back(),
                      "sample_type " + std::to_string(i)))
        return false;
    if (!index_ids(in_.mapping(), "mapping", mapping_ids_) ||
        !index_ids(in_.location(), "location", location_ids_) ||
        !index_ids(in_.function(), "function", function_ids_))
      return false;
    return mappings() && functions() && locations() && samples() && scalars() && sane_values();
  }

  bool mappings() {
    out_.mappings.reserve(static_cast<size_t>(in_.mapping_size()));
    for (const auto& m : in_.mapping()) {
      std::string who = "mapping " + std::to_string(m.id());
      auto& o = out_.mappings.emplace_back();
      o.start = m.memory_start();
      o.limit = m.memory_limit();
      o.offset = m.file_offset();
      o.has_functions = m.has_functions();
      o.has_filenames = m.has_filenames();
      o.has_line_numbers = m.has_line_numbers();
      if (!str(m.filename(), o.file, who + " filename") || !str(m.build_id(), o.build_id, who + " build_id"))
        return false;
    }
    return true;
  }

  bool functions() {
    out_.functions.reserve(static_cast<size_t>(in_.function_size()));
    for (const auto& f : in_.function()) {
      std::string who = "function " + std::to_string(f.id());
      auto& o = out_.functions.emplace_back();
      o.start_line = f.start_line();
      if (!str(f.name(), o.name, who + " name") ||
          !str(f.system_name(), o.system_name, who + " system_name") ||
          !str(f.filename(), o.file, who + " filename"))
        return false;
    }
    return true;
  }

  bool locations() {
    out_.locations.reserve(static_cast<size_t>(in_.location_size()));
    for (const auto& l : in_.location()) {
      std::string who = "location " + std::to_string(l.id());
      auto& o = out_.locations.emplace_back();
      o.address = l.address();
      // 0 means "no mapping" / "no function" in pprof, so only non-zero ids must resolve.
      if (l.mapping_id() != 0 && !resolve(mapping_ids_, l.mapping_id(), o.mapping_id, "mapping", who))
        return false;
      o.lines.reserve(static_cast<size_t>(l.line_size()));
      for (const auto& ln : l.line()) {
        auto& ol = o.lines.emplace_back();
        ol.line = ln.line();
        if (ln.function_id() != 0 &&
            !resolve(function_ids_, ln.function_id(), ol.function_id, "function", who))
          return false;
      }
    }
    return true;
  }

  // One sample message, read from the wire as the generated parser would (repeated numbers packed
  // or not, unknown fields skipped), into `o`.
  // A sample as read, before its location ids are resolved.
  struct RawSample {
    std::vector<uint64_t> location_ids;
    std::vector<int64_t> values;
    profile::Labels labels;
  };

  bool parse_sample(std::string_view m, const std::string& who, RawSample& o) {
    o.location_ids.clear();
    o.values.clear();
    o.labels.clear();
    size_t pos = 0;
    while (pos < m.size()) {
      uint64_t tag, v;
      if (!read_varint(m, pos, tag)) return fail(who + " is garbled");
      const uint64_t field = tag >> 3, wt = tag & 7;
      if ((field == 1 || field == 2) && (wt == 0 || wt == 2)) {
        auto put = [&](uint64_t x) {
          if (field == 1) o.location_ids.push_back(x);
          else o.values.push_back(static_cast<int64_t>(x));
        };
        if (wt == 0) {
          if (!read_varint(m, pos, v)) return fail(who + " is garbled");
          put(v);
          continue;
        }
        uint64_t len;
        if (!read_varint(m, pos, len) || len > m.size() - pos) return fail(who + " is garbled");
        std::string_view packed = m.substr(pos, len);
        pos += len;
        for (size_t p = 0; p < packed.size();) {
          if (!read_varint(packed, p, v)) return fail(who + " is garbled");
          put(v);
        }
      } else if (field == 3 && wt == 2) {
        uint64_t len;
        if (!read_varint(m, pos, len) || len > m.size() - pos) return fail(who + " is garbled");
        std::string_view lm = m.substr(pos, len);
        pos += len;
        int64_t f[5] = {0, 0, 0, 0, 0};  // key, str, num, num_unit by field number
        for (size_t p = 0; p < lm.size();) {
          uint64_t t;
          if (!read_varint(lm, p, t)) return fail(who + " label is garbled");
          if ((t >> 3) >= 1 && (t >> 3) <= 4 && (t & 7) == 0) {
            if (!read_varint(lm, p, v)) return fail(who + " label is garbled");
            f[t >> 3] = static_cast<int64_t>(v);
          } else if (!skip_value(lm, p, t >> 3, t & 7)) {
            return fail(who + " label is garbled");
          }
        }
        auto& ol = o.labels.emplace_back();
        if (!str(f[1], ol.key, who + " label key")) return false;
        // Same rule as Go's pprof: a label with a non-empty string is a string label, else numeric.
        if (f[2] != 0) {
          if (!str(f[2], ol.str, who + " label " + ol.key + " value")) return false;
        } else {
          ol.is_num = true;
          ol.num = f[3];
          if (!str(f[4], ol.num_unit, who + " label " + ol.key + " unit")) return false;
        }
      } else if (!skip_value(m, pos, field, wt)) {
        return fail(who + " is garbled");
      }
    }
    return true;
  }

  // The samples, read from the wire (the generated message was parsed without them). Identical
  // samples (the same locations and labels) are merged, their values added, as pprof itself reads a
  // profile: a file of millions of repeated samples costs memory for the distinct ones only. Each
  // sample's values are checked as read (sane_values), before any merging.
  bool samples() {
    const size_t types = out_.sample_types.size();
    std::vector<uint64_t> sums(types, 0);
    RawSample raw;
    profile::Sample o;
    size_t index = 0;
    size_t pos = 0;
    // Room for all of them at once: growing by doubling would hold the old and the new arrays
    // together. Merged samples leave some unused.
    out_.samples.reserve(sample_count_, location_id_count());
    slots_.assign(std::bit_ceil(std::max<size_t>(1024, sample_count_ * 10 / 7 + 1)), 0);
    while (pos < wire_.size()) {
      uint64_t tag;
      if (!read_varint(wire_, pos, tag)) return fail("the profile is garbled");
      if (tag != ((kSampleField << 3) | 2)) {
        if (!skip_value(wire_, pos, tag >> 3, tag & 7)) return fail("the profile is garbled");
        continue;
      }
      uint64_t len;
      if (!read_varint(wire_, pos, len) || len > wire_.size() - pos) return fail("the profile is garbled");
      std::string_view m = wire_.substr(pos, len);
      pos += len;
      const std::string who = "sample " + std::to_string(index);
      if (!parse_sample(m, who, raw)) return false;
      if (raw.values.size() != types)
        return fail(who + " has " + std::to_string(raw.values.size()) + " values but the profile declares " +
                    std::to_string(types) + " sample types");
      o.location_ids.resize(raw.location_ids.size());
      for (size_t k = 0; k < raw.location_ids.size(); k++) {
        uint64_t id;
        if (!resolve(location_ids_, raw.location_ids[k], id, "location", who)) return false;
        o.location_ids[k] = static_cast<uint32_t>(id);  // an index into locations: below 2^31
      }
      o.values.swap(raw.values);
      o.labels = std::move(raw.labels);
      if (!check_values(o, index, sums)) return false;
      merge(o);  // the table keeps each distinct label set once
      raw.values.swap(o.values);
      index++;
      if (input_) input_->release_before(pos);
    }
    return true;
  }

  // The location ids the samples hold in all, at most (every id takes a byte at least), so that the
  // table's array of them is made once. Counted from the packed field only: ids written one by
  // one (unpacked) take two bytes each and are counted from the sample's length.
  size_t location_id_count() const {
    size_t n = 0, pos = 0;
    while (pos < wire_.size()) {
      uint64_t tag, len;
      if (!read_varint(wire_, pos, tag)) break;
      if (tag != ((kSampleField << 3) | 2)) {
        if (!skip_value(wire_, pos, tag >> 3, tag & 7)) break;
        continue;
      }
      if (!read_varint(wire_, pos, len) || len > wire_.size() - pos) break;
      std::string_view m = wire_.substr(pos, len);
      pos += len;
      uint64_t t, l;
      size_t p = 0;
      if (m.size() > 2 && read_varint(m, p, t) && t == ((1 << 3) | 2) && read_varint(m, p, l) && l <= m.size() - p) {
        for (size_t k = p; k < p + l; k++) n += (static_cast<unsigned char>(m[k]) & 0x80) == 0;
      } else {
        n += m.size() / 2;
      }
    }
    return n;
  }

  // Every total a reader makes (a thread's, a phase's, the profile's) is a sum of sample values:
  // each type's sum of magnitudes must fit in int64, or totals would wrap ("-3 of -3"). (Merged
  // samples' sums stay within it.)
  bool check_values(const profile::SampleView& smp, size_t i, std::vector<uint64_t>& sums) {
    for (size_t t = 0; t < smp.values.size(); t++) {
      const int64_t v = smp.values[t];
      if (v < 0 && !negative_) {
        negative_ = true;
        first_negative_ = i;
      }
      const uint64_t mag = v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      if (mag > uint64_t{INT64_MAX} || sums[t] > uint64_t{INT64_MAX} - mag)
        return fail("the values of sample type " + std::to_string(t) + " (" + out_.sample_types[t].type +
                    ") add up past 2^63 - 1 (at sample " + std::to_string(i) +
                    "): no total of them can be told");
      sums[t] += mag;
    }
    if (!labelled_) labelled_ = profile::has_diff_base_label(smp);
    return true;
  }

  static uint64_t hash_of(const profile::Sample& s) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t id : s.location_ids) h = (h ^ id) * 1099511628211ull;
    return (h ^ s.labels.hash()) * 1099511628211ull;
  }

  // Adds a copy of `o` to the samples, or its values to an identical one's. An open-addressing table
  // of (32 bits of hash, index + 1): 8 bytes a slot, at most 70% full.
  void merge(const profile::Sample& o) {
    const uint64_t h = hash_of(o);
    const uint32_t h32 = static_cast<uint32_t>(h >> 32);
    if (slots_.empty() || (out_.samples.size() + 1) * 10 > slots_.size() * 7) grow();
    const size_t mask = slots_.size() - 1;
    for (size_t at = h32 & mask;; at = (at + 1) & mask) {
      const uint64_t slot = slots_[at];
      if (slot == 0) {
        slots_[at] = (uint64_t{h32} << 32) | (out_.samples.size() + 1);
        out_.samples.push_back(o);
        return;
      }
      if (static_cast<uint32_t>(slot >> 32) != h32) continue;
      const size_t at_index = static_cast<uint32_t>(slot) - 1;
      const profile::SampleView e = out_.samples[at_index];
      if (!std::ranges::equal(e.location_ids, o.location_ids) ||
          !(e.labels.shares_list_with(o.labels) || e.labels == o.labels))
        continue;
      auto values = out_.samples.values(at_index);
      for (size_t t = 0; t < values.size(); t++) values[t] += o.values[t];
      return;
    }
  }

  void grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(1024, old.size() * 2), 0);
    const size_t mask = slots_.size() - 1;
    for (uint64_t slot : old) {
      if (slot == 0) continue;
      size_t at = static_cast<uint32_t>(slot >> 32) & mask;
      while (slots_[at] != 0) at = (at + 1) & mask;
      slots_[at] = slot;
    }
  }

  // Negative values mean a diff profile (diff_convention.h): labelled (pprof -diff_base, loopperf
  // diff) or not (pprof -base's net change). A loopperf recording that is not a diff never has one:
  // there it is broken input, not a diff to show.
  bool sane_values() {
    const bool recording = !out_.meta("samples").empty() && out_.meta(profile::kDiffHeadSamplesMeta).empty();
    if (negative_ && !labelled_ && recording)
      return fail("sample " + std::to_string(first_negative_) +
                  " has a negative value in a loopperf recording that is not a diff (no sample is labelled "
                  "pprof::base=true, no diff metadata): counts and times are never negative");
    return true;
  }

  bool scalars() {
    out_.time_nanos = in_.time_nanos();
    out_.duration_nanos = in_.duration_nanos();
    out_.period = in_.period();
    if (!value_type(in_.period_type(), out_.period_type, "period_type")) return false;
    if (!str(in_.default_sample_type(), out_.default_sample_type, "default_sample_type")) return false;
    // The model has no place for drop/keep_frames, but a bad index is still a sign of a broken file.
    std::string ignored;
    if (!str(in_.drop_frames(), ignored, "drop_frames") || !str(in_.keep_frames(), ignored, "keep_frames"))
      return false;
    constexpr std::string_view kMetaPrefix = "loopperf:";
    for (int i = 0; i < in_.comment_size(); i++) {
      std::string c;
      if (!str(in_.comment(i), c, "comment " + std::to_string(i))) return false;
      size_t eq = c.find('=');
      if (c.starts_with(kMetaPrefix) && eq != std::string::npos) {
        out_.metadata.emplace_back(c.substr(kMetaPrefix.size(), eq - kMetaPrefix.size()), c.substr(eq + 1));
      } else {
        out_.comments.push_back(std::move(c));
      }
    }
    return true;
  }

  const pb::Profile& in_;
  std::string_view wire_;
  size_t sample_count_;
  detail::PageBuffer* input_;
  Profile out_;
  std::string error_;
  IdMap mapping_ids_, location_ids_, function_ids_;
  std::vector<uint64_t> slots_;  // merge()'s table
  bool negative_ = false, labelled_ = false;
  size_t first_negative_ = 0;
};

}  // namespace

namespace {

// `input`: the buffer `bytes` is, which decoding may empty as it goes (read_pprof's), or null.
Result<Profile> decode(std::string_view bytes, detail::PageBuffer* input) {
  if (bytes.empty()) return bad_input("empty input: a pprof profile is never zero bytes long");
  std::string_view data = bytes;
  detail::PageBuffer inflated;
  if (detail::is_gzip(data)) {
    if (auto st = detail::gunzip_into(data, detail::inflate_limit(data.size()), inflated); !st) return st.error();
    if (input) *input = detail::PageBuffer();  // the compressed file is not needed any more
    data = inflated.view();
    input = &inflated;
    if (data.empty()) return bad_input("the gzip data inflates to nothing: no profile inside");
  }
  // (A gzip file's bound was its own: inflate_limit.)
  if ((input != &inflated && data.size() > detail::kMaxInflatedBytes) || data.size() > INT_MAX)
    return bad_input("profile too large: more than " + std::to_string(detail::kMaxInflatedBytes >> 20) +
                     " MiB");
  std::string repaired;
  switch (repair_string_table(data, repaired)) {
    case Walk::kGarbled:
      return bad_input("not a protobuf message: the data is truncated or garbled");
    case Walk::kRepaired:
      data = repaired;
      input = nullptr;
      break;
    case Walk::kClean:
      break;
  }
  pb::Profile in;
  size_t sample_count = 0;
  const std::string rest = without_samples(data, sample_count);
  if (!in.ParseFromArray(rest.data(), static_cast<int>(rest.size())))
    return bad_input("not a valid perftools.profiles.Profile protobuf message");
  return Decoder(in, data, sample_count, input).run();
}

}  // namespace

Result<Profile> decode_pprof(const std::string& bytes) { return decode(bytes, nullptr); }

Result<Profile> read_pprof(const std::string& path) {
  // An input that cannot be read is exit 6 whatever the reason (README's table), with what to do.
  auto sys_error = [&](int err) {
    std::string hint;
    if (err == ENOENT) hint = "check the path of the profile";
    else if (err == EACCES || err == EPERM)
      hint = "loopperf runs as uid " + std::to_string(::geteuid()) + ": make the file readable (ls -l " + path +
             "), or read it as its owner";
    else if (err == EISDIR) hint = "give a profile file, not a directory (only diff takes directories of runs)";
    return make_error(ErrorCode::kInput, "cannot read " + path + ": " + std::strerror(err), hint);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno);
  // Read into pages that decoding gives back as it passes them (detail::PageBuffer).
  detail::PageBuffer data;
  auto out_of_memory = [&] {
    ::close(fd);
    return make_error(ErrorCode::kResource, "out of memory reading " + path);
  };
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    // Refused before reserving: a huge (or sparse) file would not fit.
    if (static_cast<uint64_t>(st.st_size) > detail::kMaxInflatedBytes) {
      ::close(fd);
      return bad_input("cannot read " + path + ": file too large (" + std::to_string(st.st_size >> 20) +
                       " MiB; at most " + std::to_string(detail::kMaxInflatedBytes >> 20) + " MiB)");
    }
    if (!data.resize(static_cast<size_t>(st.st_size))) return out_of_memory();
    data.resize(0);
  }
  for (;;) {
    const size_t used = data.size();
    if (!data.resize(used + (64 << 10))) return out_of_memory();
    ssize_t n = ::read(fd, data.data() + used, 64 << 10);
    data.resize(used + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return sys_error(err);
    }
    if (n == 0) break;
    // Even gzipped, a file this big would inflate past the decode cap; stop before reading it all.
    if (data.size() > detail::kMaxInflatedBytes) {
      ::close(fd);
      return bad_input("cannot read " + path + ": file too large (more than " +
                       std::to_string(detail::kMaxInflatedBytes >> 20) + " MiB)");
    }
  }
  ::close(fd);
  auto p = decode(data.view(), &data);
  if (!p) {
    Error e = p.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return p;
}

}  // namespace loopperf::formats
