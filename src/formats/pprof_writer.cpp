// Profile -> gzipped perftools.profiles.Profile. Our ids are already index + 1, which is exactly what
// pprof wants (non-zero, unique), so ids are written unchanged and only strings need a table.
#include <optional>
#include <string_view>
#include <unordered_map>

#include "loopperf/common/fs.h"
#include "loopperf/formats/pprof.h"
#include "pprof_detail.h"
#include "profile.pb.h"

namespace loopperf::formats {

namespace pb = perftools::profiles;
using profile::Profile;

namespace {

// pprof's string table: index 0 must be "", every other string appears once. Filled while the
// samples are encoded, written with the last part of the message (emit).
class StringTable {
 public:
  StringTable() { add(""); }

  int64_t add(std::string_view s) {
    std::string key = detail::is_valid_utf8(s) ? std::string(s) : detail::to_valid_utf8(s);
    auto [it, inserted] = index_.try_emplace(key, static_cast<int64_t>(index_.size()));
    if (inserted) strings_.push_back(std::move(key));
    return it->second;
  }
  void emit(pb::Profile* out) {
    for (auto& s : strings_) out->add_string_table(std::move(s));
    strings_.clear();
  }

 private:
  std::vector<std::string> strings_;
  std::unordered_map<std::string, int64_t> index_;
};

// A dangling id in our own model is a bug upstream; refusing here keeps us from writing a file that
// neither we nor Go's pprof could read back.
Status check_model(const Profile& p) {
  auto bug = [](const std::string& what) {
    return make_error(ErrorCode::kInternal, "cannot encode profile: " + what);
  };
  for (size_t i = 0; i < p.samples.size(); i++) {
    const auto& s = p.samples[i];
    if (s.values.size() != p.sample_types.size())
      return bug("sample " + std::to_string(i) + " has " + std::to_string(s.values.size()) + " values for " +
                 std::to_string(p.sample_types.size()) + " sample types");
    for (uint64_t id : s.location_ids)
      if (!p.location(id))
        return bug("sample " + std::to_string(i) + " refers to missing location " + std::to_string(id));
  }
  for (size_t i = 0; i < p.locations.size(); i++) {
    const auto& loc = p.locations[i];
    if (loc.mapping_id != 0 && !p.mapping(loc.mapping_id))
      return bug("location " + std::to_string(i + 1) + " refers to missing mapping " +
                 std::to_string(loc.mapping_id));
    for (const auto& line : loc.lines)
      if (line.function_id != 0 && !p.function(line.function_id))
        return bug("location " + std::to_string(i + 1) + " refers to missing function " +
                   std::to_string(line.function_id));
  }
  return {};
}

void set_value_type(pb::ValueType* out, const profile::ValueType& vt, StringTable& strings) {
  out->set_type(strings.add(vt.type));
  out->set_unit(strings.add(vt.unit));
}

}  // namespace

Result<std::string> encode_pprof(const Profile& p, bool gzip) {
  if (auto st = check_model(p); !st) return st.error();

  // Protobuf's encoding of a message is the concatenation of its fields, and repeated fields
  // concatenate: the samples are encoded a batch at a time and appended, so the message objects of
  // all samples (as large as the Profile itself) never exist at once.
  // Gzipped, each batch goes straight into the compressor: the uncompressed file never exists whole.
  std::string bytes;
  std::optional<detail::GzipWriter> gz;
  if (gzip) gz.emplace();
  size_t encoded = 0;
  Status gz_status;
  pb::Profile out;
  StringTable strings;
  constexpr size_t kBatch = 1024;
  auto flush = [&] {
    const size_t before = bytes.size();
    out.AppendToString(&bytes);
    out.Clear();
    encoded += bytes.size() - before;
    if (gz) {
      if (gz_status) gz_status = gz->write(bytes);
      bytes.clear();
    }
  };

  for (const auto& s : p.samples) {
    if (out.sample_size() == kBatch) flush();
    pb::Sample* ps = out.add_sample();
    for (uint64_t id : s.location_ids) ps->add_location_id(id);
    for (int64_t v : s.values) ps->add_value(v);
    for (const auto& l : s.labels) {
      pb::Label* pl = ps->add_label();
      pl->set_key(strings.add(l.key));
      // pprof tells the kinds apart by which fields are set: str != 0 means a string label.
      if (l.is_num) {
        pl->set_num(l.num);
        if (!l.num_unit.empty()) pl->set_num_unit(strings.add(l.num_unit));
      } else {
        pl->set_str(strings.add(l.str));
      }
    }
  }

  flush();

  for (const auto& vt : p.sample_types) set_value_type(out.add_sample_type(), vt, strings);

  // has_inline_frames is not in our model: it is derivable from the locations.
  std::vector<bool> inlined(p.mappings.size(), false);
  for (const auto& loc : p.locations)
    if (loc.mapping_id != 0 && loc.lines.size() > 1) inlined[loc.mapping_id - 1] = true;

  for (size_t i = 0; i < p.mappings.size(); i++) {
    const auto& m = p.mappings[i];
    pb::Mapping* pm = out.add_mapping();
    pm->set_id(i + 1);
    pm->set_memory_start(m.start);
    pm->set_memory_limit(m.limit);
    pm->set_file_offset(m.offset);
    pm->set_filename(strings.add(m.file));
    pm->set_build_id(strings.add(m.build_id));
    pm->set_has_functions(m.has_functions);
    pm->set_has_filenames(m.has_filenames);
    pm->set_has_line_numbers(m.has_line_numbers);
    pm->set_has_inline_frames(inlined[i]);
  }

  for (size_t i = 0; i < p.locations.size(); i++) {
    const auto& loc = p.locations[i];
    pb::Location* pl = out.add_location();
    pl->set_id(i + 1);
    pl->set_mapping_id(loc.mapping_id);
    pl->set_address(loc.address);
    // Line.column does not exist in the profile.proto Debian ships; the column survives only inside
    // system_name (e.g. "JS:*f app.js:17:3").
    for (const auto& line : loc.lines) {
      pb::Line* ln = pl->add_line();
      ln->set_function_id(line.function_id);
      ln->set_line(line.line);
    }
  }

  for (size_t i = 0; i < p.functions.size(); i++) {
    const auto& f = p.functions[i];
    pb::Function* pf = out.add_function();
    pf->set_id(i + 1);
    pf->set_name(strings.add(f.name));
    pf->set_system_name(strings.add(f.system_name));
    pf->set_filename(strings.add(f.file));
    pf->set_start_line(f.start_line);
  }

  out.set_time_nanos(p.time_nanos);
  out.set_duration_nanos(p.duration_nanos);
  set_value_type(out.mutable_period_type(), p.period_type, strings);
  out.set_period(p.period);
  for (const auto& c : p.comments) out.add_comment(strings.add(c));
  for (const auto& [k, v] : p.metadata) out.add_comment(strings.add("loopperf:" + k + "=" + v));
  if (!p.default_sample_type.empty()) out.set_default_sample_type(strings.add(p.default_sample_type));

  strings.emit(&out);
  flush();
  if (encoded > (size_t{2} << 30) - 1)
    return make_error(ErrorCode::kOutput, "cannot encode profile: it exceeds protobuf's 2 GiB message limit",
                      "record for a shorter time or at a lower rate");
  if (!gz) return bytes;
  if (!gz_status) return gz_status.error();
  return gz->finish();
}

Status write_pprof(const Profile& p, const std::string& path) {
  auto bytes = encode_pprof(p, true);
  if (!bytes) return bytes.error();
  return write_file_atomic(path, *bytes);
}

}  // namespace loopperf::formats
