#include "loopperf/loop/uv_run_phases.h"

namespace loopperf::loop {

namespace {
// Call-site tables by build id, with uv_run's address and size: built once per binary per process
// (finding uv_run scans every symbol of node, ~10 ms; record builds it while recording, so the
// stop does not pay it; report and dump may meet the same node many times).
struct CachedTable {
  CallSiteTable table;
  uint64_t start = 0, size = 0;
};
std::map<std::string, CachedTable>& table_cache() {
  static std::map<std::string, CachedTable> cache;
  return cache;
}
}  // namespace

CallSiteTable call_sites_for(symbols::ElfFile& elf, uint64_t* uv_run_vaddr, std::string* problem,
                             uint64_t* uv_run_size) {
  if (!elf.build_id().empty()) {
    auto it = table_cache().find(elf.build_id());
    if (it != table_cache().end()) {
      if (uv_run_vaddr) *uv_run_vaddr = it->second.start;
      if (uv_run_size) *uv_run_size = it->second.size;
      return it->second.table;
    }
  }
  uint64_t size = 0;
  uint64_t start = elf.symbol_address("uv_run", &size);
  if (uv_run_vaddr) *uv_run_vaddr = start;
  if (uv_run_size) *uv_run_size = size;
  if (!start || !size || size > 64 * 1024) {
    if (problem) *problem = elf.path() + " has no usable uv_run symbol";
    return CallSiteTable::build(UvRunCode{});
  }
  UvRunCode code;
  code.start = start;
  code.bytes = elf.read_bytes(start, size);
  code.symbol_at = [&elf](uint64_t vaddr) { return elf.symbol_starting_at(vaddr); };
  CallSiteTable table = CallSiteTable::build(code);
  if (!table.usable() && problem) *problem = elf.path() + ": " + table.problem();
  if (!elf.build_id().empty() && table.usable()) table_cache()[elf.build_id()] = CachedTable{table, start, size};
  return table;
}

UvRunPhases::Binary& UvRunPhases::binary_for(const profile::Mapping& m) {
  auto [it, inserted] = binaries_.try_emplace(m.file);
  Binary& b = it->second;
  if (!inserted) return b;
  b.elf = symbolizer_.elf_for(m.file);
  if (!b.elf) {
    problems_.push_back("cannot open " + m.file + " to find uv_run's call sites");
    return b;
  }
  std::string problem;
  b.table = call_sites_for(*b.elf, &b.uv_run, &problem, &b.uv_run_size);
  b.usable = b.table.usable();
  if (!b.usable) problems_.push_back(problem.empty() ? b.table.problem() : problem);
  return b;
}

Phase UvRunPhases::operator()(const FrameRef& f) {
  if (!f.location) return Phase::kUnknown;
  const profile::Mapping* m = profile_.mapping(f.location->mapping_id);
  if (!m) return Phase::kUnknown;
  Binary& b = binary_for(*m);
  if (!b.usable) return Phase::kUnknown;
  uint64_t vaddr = b.elf->file_offset_to_vaddr(f.location->address - m->start + m->offset);
  // Callers' addresses are return address - 1 (see profile::Frame); the table wants the return
  // address' offset for callers and the pc's offset for a leaf.
  uint64_t offset = vaddr + (f.leaf ? 0 : 1) - b.uv_run;
  if (vaddr < b.uv_run || offset > b.uv_run_size) return Phase::kUnknown;
  return b.table.phase_at(offset);
}

}  // namespace loopperf::loop
