// A profile's samples: their labels, one sample to build (Sample), and the table every profile keeps
// them in (SampleTable), read through views (SampleView).
//
// The table is columnar (issue 22): one array of location ids for all stacks, one of values, and an
// index into the profile's distinct label sets per sample. A sample of 6 frames and 2 values costs
// ~48 bytes there, against ~190 as a struct of two vectors and a label list: a 200 MB profile of
// 4.5 million distinct samples fits in about as much memory as its file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loopperf::profile {

struct Label {
  std::string key;
  std::string str;  // string label when num_unit is empty and str non-empty
  int64_t num = 0;
  std::string num_unit;
  bool is_num = false;
  bool operator==(const Label&) const = default;
};

// A sample's labels, read like a vector. Copies share one list: a profile's millions of samples
// carry a few hundred distinct label sets. A change copies a shared list first (copy on write);
// reading never copies.
class Labels {
 public:
  using value_type = Label;
  using const_iterator = std::vector<Label>::const_iterator;
  using iterator = const_iterator;  // elements change only through mutate()

  Labels() = default;
  Labels(std::initializer_list<Label> init) {
    if (init.size()) list_ = std::make_shared<std::vector<Label>>(init);
  }
  Labels(std::vector<Label> list) {  // NOLINT: a vector of labels is a Labels
    if (!list.empty()) list_ = std::make_shared<std::vector<Label>>(std::move(list));
  }

  const std::vector<Label>& list() const { return list_ ? *list_ : empty_list(); }
  const_iterator begin() const { return list().begin(); }
  const_iterator end() const { return list().end(); }
  size_t size() const { return list_ ? list_->size() : 0; }
  bool empty() const { return size() == 0; }
  const Label& operator[](size_t i) const { return (*list_)[i]; }
  const Label& back() const { return list_->back(); }
  bool operator==(const Labels& o) const { return list_ == o.list_ || list() == o.list(); }
  bool shares_list_with(const Labels& o) const { return list_ && list_ == o.list_; }
  // A hash of the labels' keys and values (equal lists hash equal).
  uint64_t hash() const;

  const Label* find(std::string_view key) const;
  std::string_view str(std::string_view key) const;  // "" when absent
  std::optional<int64_t> num(std::string_view key) const;

  // The list to change, unshared first.
  std::vector<Label>& mutate();
  void push_back(Label l) { mutate().push_back(std::move(l)); }
  template <typename... Args>
  Label& emplace_back(Args&&... args) {
    return mutate().emplace_back(std::forward<Args>(args)...);
  }
  void reserve(size_t n) { mutate().reserve(n); }
  void clear() { list_.reset(); }

 private:
  static const std::vector<Label>& empty_list();
  std::shared_ptr<std::vector<Label>> list_;
};

// One sample, owned: what code that makes samples fills in and adds to a SampleTable.
struct Sample {
  std::vector<uint32_t> location_ids;  // leaf first
  std::vector<int64_t> values;         // one per Profile::sample_types
  Labels labels;

  const Label* label(std::string_view key) const { return labels.find(key); }
  std::string_view str_label(std::string_view key) const { return labels.str(key); }  // "" when absent
  std::optional<int64_t> num_label(std::string_view key) const { return labels.num(key); }
};

// A sample as read: views into its table (or into a Sample), valid until the table changes.
struct SampleView {
  std::span<const uint32_t> location_ids;  // leaf first
  std::span<const int64_t> values;
  const Labels& labels;

  SampleView(std::span<const uint32_t> ids, std::span<const int64_t> vals, const Labels& l)
      : location_ids(ids), values(vals), labels(l) {}
  SampleView(const Sample& s) : SampleView(s.location_ids, s.values, s.labels) {}  // NOLINT: a sample reads as a view

  const Label* label(std::string_view key) const { return labels.find(key); }
  std::string_view str_label(std::string_view key) const { return labels.str(key); }  // "" when absent
  std::optional<int64_t> num_label(std::string_view key) const { return labels.num(key); }
  Sample copy() const { return {{location_ids.begin(), location_ids.end()}, {values.begin(), values.end()}, labels}; }
};

class SampleTable {
 public:
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = SampleView;
    using reference = SampleView;
    using difference_type = std::ptrdiff_t;
    struct pointer {
      SampleView v;
      const SampleView* operator->() const { return &v; }
    };
    const_iterator() = default;
    const_iterator(const SampleTable* t, size_t i) : t_(t), i_(i) {}
    SampleView operator*() const { return (*t_)[i_]; }
    pointer operator->() const { return {(*t_)[i_]}; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++i_;
      return old;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    size_t index() const { return i_; }

   private:
    const SampleTable* t_ = nullptr;
    size_t i_ = 0;
  };
  using iterator = const_iterator;
  using value_type = SampleView;

  size_t size() const { return label_of_.size(); }
  bool empty() const { return label_of_.empty(); }
  // Values per sample: the first sample's count; every sample has as many (add() enforces it).
  size_t value_count() const { return stride_; }

  SampleView operator[](size_t i) const {
    return {std::span(ids_).subspan(ids_begin(i), ends_[i] - ids_begin(i)),
            std::span(values_).subspan(i * stride_, stride_), label_sets_[label_of_[i]]};
  }
  SampleView back() const { return (*this)[size() - 1]; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

  // Adds a sample. Throws std::invalid_argument when its values are not value_count() (a bug in the
  // caller: every sample of a profile has one value per sample type), std::length_error past 2^32
  // location ids in all.
  void add(std::span<const uint32_t> ids, std::span<const int64_t> values, const Labels& labels);
  void add(const SampleView& s) { add(s.location_ids, s.values, s.labels); }
  void push_back(const Sample& s) { add(s.location_ids, s.values, s.labels); }

  // What may change in place: a sample's values and location ids (same count), its labels.
  std::span<int64_t> values(size_t i) { return std::span(values_).subspan(i * stride_, stride_); }
  std::span<uint32_t> location_ids(size_t i) {
    return std::span(ids_).subspan(ids_begin(i), ends_[i] - ids_begin(i));
  }
  void set_labels(size_t i, const Labels& labels) { label_of_[i] = label_set(labels); }
  // Changes sample i through an owned copy, f(Sample&): its values, labels, and location ids as
  // many as it had (std::invalid_argument otherwise).
  template <typename F>
  void edit(size_t i, F f);

  SampleTable() = default;
  SampleTable(std::initializer_list<Sample> samples) {  // NOLINT: a list of samples is a table
    for (const auto& s : samples) push_back(s);
  }

  // Keeps the samples for which keep(view) is true, in order.
  template <typename Keep>
  void keep_if(Keep keep);

  void reserve(size_t samples, size_t ids = 0);
  void clear() { *this = SampleTable(); }
  // The distinct label sets (each sample refers to one).
  size_t label_set_count() const { return label_sets_.size(); }
  // Bytes held (capacities), for measuring.
  size_t bytes() const;

 private:
  size_t ids_begin(size_t i) const { return i ? ends_[i - 1] : 0; }
  uint32_t label_set(const Labels& labels);

  std::vector<uint32_t> ids_;       // every sample's location ids, one after the other
  std::vector<uint32_t> ends_;      // sample i's ids end at ends_[i]
  std::vector<int64_t> values_;     // stride_ per sample
  size_t stride_ = 0;
  std::vector<uint32_t> label_of_;  // sample i's labels: label_sets_[label_of_[i]]
  std::vector<Labels> label_sets_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> label_index_;  // hash -> label_sets_ indices
  uint32_t last_set_ = 0;                                             // the last one label_set() gave
};

template <typename F>
void SampleTable::edit(size_t i, F f) {
  Sample s = (*this)[i].copy();
  f(s);
  auto ids = location_ids(i);
  if (s.values.size() != stride_ || s.location_ids.size() != ids.size())
    throw std::invalid_argument("SampleTable::edit changed how many values or location ids a sample has");
  std::copy(s.location_ids.begin(), s.location_ids.end(), ids.begin());
  std::copy(s.values.begin(), s.values.end(), values(i).begin());
  set_labels(i, s.labels);
}

template <typename Keep>
void SampleTable::keep_if(Keep keep) {
  size_t out = 0, id_out = 0, begin = 0;
  for (size_t i = 0; i < size(); i++) {
    const size_t b = begin, e = ends_[i];
    begin = e;  // read before ends_[out] is written (out <= i)
    if (!keep(SampleView(std::span(ids_).subspan(b, e - b), std::span(values_).subspan(i * stride_, stride_),
                         label_sets_[label_of_[i]])))
      continue;
    for (size_t k = b; k < e; k++) ids_[id_out++] = ids_[k];
    for (size_t v = 0; v < stride_; v++) values_[out * stride_ + v] = values_[i * stride_ + v];
    label_of_[out] = label_of_[i];
    ends_[out] = static_cast<uint32_t>(id_out);
    out++;
  }
  ids_.resize(id_out);
  ends_.resize(out);
  values_.resize(out * stride_);
  label_of_.resize(out);
}

}  // namespace loopperf::profile
