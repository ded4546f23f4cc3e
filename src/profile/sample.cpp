#include "loopperf/profile/sample.h"

#include <functional>
#include <limits>
#include <stdexcept>

namespace loopperf::profile {

std::vector<Label>& Labels::mutate() {
  if (!list_) list_ = std::make_shared<std::vector<Label>>();
  else if (list_.use_count() > 1) list_ = std::make_shared<std::vector<Label>>(*list_);
  return *list_;
}

const std::vector<Label>& Labels::empty_list() {
  static const std::vector<Label> empty;
  return empty;
}

uint64_t Labels::hash() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields' hashes
  auto mix = [&h](uint64_t x) { h = (h ^ x) * 1099511628211ull; };
  const std::hash<std::string> hs;
  for (const auto& l : *this) {
    mix(hs(l.key));
    mix(l.is_num ? static_cast<uint64_t>(l.num) ^ hs(l.num_unit) : hs(l.str));
  }
  return h;
}

const Label* Labels::find(std::string_view key) const {
  for (const auto& l : *this)
    if (l.key == key) return &l;
  return nullptr;
}

std::string_view Labels::str(std::string_view key) const {
  for (const auto& l : *this)
    if (l.key == key && !l.is_num) return l.str;
  return {};
}

std::optional<int64_t> Labels::num(std::string_view key) const {
  for (const auto& l : *this)
    if (l.key == key && l.is_num) return l.num;
  return std::nullopt;
}

void SampleTable::add(std::span<const uint32_t> ids, std::span<const int64_t> values, const Labels& labels) {
  if (empty()) {
    stride_ = values.size();
    values_.reserve(ends_.capacity() * stride_);  // reserve()'s room, now that the stride is known
  }
  if (values.size() != stride_)
    throw std::invalid_argument("a sample with " + std::to_string(values.size()) + " values added to samples of " +
                                std::to_string(stride_));
  if (ids.size() > std::numeric_limits<uint32_t>::max() - ids_.size())
    throw std::length_error("more than 2^32 location ids in one profile's samples");
  const uint32_t set = label_set(labels);  // first: it may throw, and nothing is added then
  // A sample of this very table (add((*this)[i])) is copied first: growing would move it.
  auto inside = [](const auto& span, const auto& vec) {
    return !span.empty() && span.data() >= vec.data() && span.data() < vec.data() + vec.size();
  };
  if (inside(ids, ids_) || inside(values, values_)) {
    const Sample copy{{ids.begin(), ids.end()}, {values.begin(), values.end()}, label_sets_[set]};
    ids_.insert(ids_.end(), copy.location_ids.begin(), copy.location_ids.end());
    values_.insert(values_.end(), copy.values.begin(), copy.values.end());
  } else {
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    values_.insert(values_.end(), values.begin(), values.end());
  }
  ends_.push_back(static_cast<uint32_t>(ids_.size()));
  label_of_.push_back(set);
}

// Equal label sets are kept once (found by their hash).
uint32_t SampleTable::label_set(const Labels& labels) {
  if (!label_sets_.empty()) {  // samples added in a row often share one list
    const Labels& last = label_sets_[last_set_];
    if (last.shares_list_with(labels) || (last.empty() && labels.empty())) return last_set_;
  }
  auto& same_hash = label_index_[labels.hash()];
  uint32_t found = 0;
  bool known = false;
  for (uint32_t i : same_hash)
    if (label_sets_[i] == labels) {
      found = i;
      known = true;
      break;
    }
  if (!known) {
    found = static_cast<uint32_t>(label_sets_.size());
    label_sets_.push_back(labels);
    same_hash.push_back(found);
  }
  last_set_ = found;
  return found;
}

void SampleTable::reserve(size_t samples, size_t ids) {
  ends_.reserve(samples);
  label_of_.reserve(samples);
  if (stride_) values_.reserve(samples * stride_);  // else at the first add()
  if (ids) ids_.reserve(ids);
}

size_t SampleTable::bytes() const {
  return ids_.capacity() * sizeof(uint32_t) + ends_.capacity() * sizeof(uint32_t) +
         values_.capacity() * sizeof(int64_t) + label_of_.capacity() * sizeof(uint32_t) +
         label_sets_.capacity() * sizeof(Labels);
}

}  // namespace loopperf::profile
