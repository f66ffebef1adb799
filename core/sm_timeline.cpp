// sm_timeline.cpp — see sm_timeline.hpp.
#include "core/sm_timeline.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

namespace attnscope {

const char* sm_event_name(SmEvent e) {
  static const char* names[] = {"QWaitBegin",   "QWaitEnd",      "StageWaitBegin", "StageWaitEnd", "CopyKIssued",
                                "CopyVIssued",  "KWaitBegin",    "KWaitEnd",       "VWaitBegin",   "VWaitEnd",
                                "TurnWaitBegin", "TurnWaitEnd",  "ScoresIssued",   "ValuesIssued", "ScoresDone",
                                "SoftmaxEnd",   "ValuesDone",    "EpilogueBegin",  "EpilogueEnd"};
  const auto i = static_cast<size_t>(e);
  return i < sizeof(names) / sizeof(names[0]) ? names[i] : "?";
}

const char* sm_activity_name(SmActivity a) {
  switch (a) {
    case SmActivity::Waiting: return "waiting";
    case SmActivity::CopyInFlight: return "copy in flight";
    case SmActivity::TensorScores: return "QKᵀ (tensor cores)";
    case SmActivity::TensorValues: return "P·V (tensor cores)";
    case SmActivity::Softmax: return "softmax (CUDA cores)";
    case SmActivity::Epilogue: return "epilogue (O / l stored)";
  }
  return "?";
}

namespace {

using Key = std::pair<SmEvent, int32_t>;  // (event, step)

// The first time of each (event, step) on a lane.
std::map<Key, int64_t> index_lane(const std::vector<SmEventRecord>& lane) {
  std::map<Key, int64_t> at;
  for (const SmEventRecord& e : lane) at.emplace(Key{e.event, e.step}, e.t_ns);
  return at;
}

std::string with_step(const char* what, int32_t step) { return std::string(what) + " " + std::to_string(step); }

}  // namespace

std::vector<SmSpan> sm_timeline_spans(const SmTimeline& t) {
  std::vector<SmSpan> spans;
  std::vector<std::map<Key, int64_t>> index;
  for (const auto& lane : t.lanes) index.push_back(index_lane(lane));
  auto add = [&](int32_t lane, SmActivity a, int32_t step, int64_t start, int64_t end, std::string what) {
    if (end >= start) spans.push_back({lane, a, step, start, end, std::move(what)});
  };
  // Paired events on their own lane.
  struct Pair { SmEvent begin, end; SmActivity activity; const char* what; };
  static const Pair pairs[] = {
      {SmEvent::QWaitBegin, SmEvent::QWaitEnd, SmActivity::Waiting, "wait: Q tile"},
      {SmEvent::StageWaitBegin, SmEvent::StageWaitEnd, SmActivity::Waiting, "wait: a free stage for step"},
      {SmEvent::KWaitBegin, SmEvent::KWaitEnd, SmActivity::Waiting, "wait: K of step"},
      {SmEvent::VWaitBegin, SmEvent::VWaitEnd, SmActivity::Waiting, "wait: V of step"},
      {SmEvent::TurnWaitBegin, SmEvent::TurnWaitEnd, SmActivity::Waiting, "wait: the other warpgroup's turn, step"},
      {SmEvent::ScoresIssued, SmEvent::ScoresDone, SmActivity::TensorScores, "QKᵀ step"},
      {SmEvent::ScoresDone, SmEvent::SoftmaxEnd, SmActivity::Softmax, "softmax step"},
      {SmEvent::EpilogueBegin, SmEvent::EpilogueEnd, SmActivity::Epilogue, "epilogue"},
  };
  for (int32_t lane = 0; lane < static_cast<int32_t>(t.lanes.size()); ++lane) {
    const auto& at = index[static_cast<size_t>(lane)];
    for (const auto& [key, start] : at) {
      for (const Pair& p : pairs) {
        if (key.first != p.begin) continue;
        const auto end = at.find({p.end, key.second});
        if (end == at.end()) continue;
        const bool once = p.begin == SmEvent::QWaitBegin || p.begin == SmEvent::EpilogueBegin;
        add(lane, p.activity, key.second, start, end->second, once ? p.what : with_step(p.what, key.second));
      }
      // P·V of step j runs on the tensor cores after the QKᵀ issued with it (step j + 1), if any.
      if (key.first == SmEvent::ValuesIssued) {
        const auto done = at.find({SmEvent::ValuesDone, key.second});
        if (done == at.end()) continue;
        int64_t begin = start;
        if (const auto s = at.find({SmEvent::ScoresDone, key.second + 1}); s != at.end()) begin = std::max(begin, s->second);
        add(lane, SmActivity::TensorValues, key.second, std::min(begin, done->second), done->second,
            with_step("P·V step", key.second));
      }
    }
  }
  // The producer's copies are in flight from their issue to the first consumer that saw them land.
  if (!t.lanes.empty()) {
    for (const auto& [key, issued] : index[0]) {
      if (key.first != SmEvent::CopyKIssued && key.first != SmEvent::CopyVIssued) continue;
      const SmEvent landed = key.first == SmEvent::CopyKIssued ? SmEvent::KWaitEnd : SmEvent::VWaitEnd;
      int64_t first = std::numeric_limits<int64_t>::max();
      for (size_t lane = 1; lane < index.size(); ++lane)
        if (const auto e = index[lane].find({landed, key.second}); e != index[lane].end()) first = std::min(first, e->second);
      if (first == std::numeric_limits<int64_t>::max()) continue;
      add(0, SmActivity::CopyInFlight, key.second, issued, std::max(issued, first),
          with_step(key.first == SmEvent::CopyKIssued ? "K copy, step" : "V copy, step", key.second));
    }
  }
  std::sort(spans.begin(), spans.end(), [](const SmSpan& a, const SmSpan& b) {
    return std::tie(a.lane, a.start_ns, a.end_ns) < std::tie(b.lane, b.start_ns, b.end_ns);
  });
  return spans;
}

namespace {

// Length of the union of intervals.
double union_length(std::vector<std::pair<int64_t, int64_t>> v) {
  std::sort(v.begin(), v.end());
  double total = 0;
  int64_t start = 0, end = std::numeric_limits<int64_t>::min();
  for (const auto& [a, b] : v) {
    if (a > end) {
      if (end > start) total += static_cast<double>(end - start);
      start = a;
      end = b;
    } else {
      end = std::max(end, b);
    }
  }
  if (end > start) total += static_cast<double>(end - start);
  return total;
}

}  // namespace

std::vector<SmLaneShares> sm_lane_shares(const SmTimeline& t, const std::vector<SmSpan>& spans) {
  int64_t first = std::numeric_limits<int64_t>::max(), last = std::numeric_limits<int64_t>::min();
  for (const auto& lane : t.lanes)
    for (const SmEventRecord& e : lane) first = std::min(first, e.t_ns), last = std::max(last, e.t_ns);
  const double span = last > first ? static_cast<double>(last - first) : 0.0;
  std::vector<SmLaneShares> out(t.lanes.size());
  for (size_t lane = 0; lane < t.lanes.size(); ++lane) {
    std::map<SmActivity, std::vector<std::pair<int64_t, int64_t>>> by;
    std::vector<std::pair<int64_t, int64_t>> tensor;
    for (const SmSpan& s : spans) {
      if (s.lane != static_cast<int32_t>(lane)) continue;
      by[s.activity].push_back({s.start_ns, s.end_ns});
      if (s.activity == SmActivity::TensorScores || s.activity == SmActivity::TensorValues)
        tensor.push_back({s.start_ns, s.end_ns});
    }
    SmLaneShares& sh = out[lane];
    sh.span_ns = span;
    if (span <= 0) continue;
    sh.waiting = union_length(by[SmActivity::Waiting]) / span;
    sh.softmax = union_length(by[SmActivity::Softmax]) / span;
    sh.epilogue = union_length(by[SmActivity::Epilogue]) / span;
    sh.tensor = union_length(tensor) / span;
    sh.copies = union_length(by[SmActivity::CopyInFlight]) / span;
  }
  return out;
}

std::string sm_timeline_json(const SmTimeline& t) {
  using nlohmann::json;
  json j;
  j["kernel"] = t.kernel;
  j["device"] = t.device;
  j["spec"] = t.spec;
  j["cta"] = {{"q_tile", t.q_tile}, {"head", t.head}, {"batch", t.batch}, {"sm", t.sm}, {"steps", t.steps}};
  j["ns_per_cycle"] = t.ns_per_cycle;
  json lanes = json::array();
  for (size_t i = 0; i < t.lanes.size(); ++i) {
    json events = json::array();
    for (const SmEventRecord& e : t.lanes[i])
      events.push_back({{"event", sm_event_name(e.event)}, {"step", e.step}, {"t_ns", e.t_ns}});
    lanes.push_back({{"name", i < t.lane_names.size() ? t.lane_names[i] : ""}, {"events", std::move(events)}});
  }
  j["lanes"] = std::move(lanes);
  const std::vector<SmSpan> spans = sm_timeline_spans(t);
  json js = json::array();
  for (const SmSpan& s : spans)
    js.push_back({{"lane", s.lane}, {"activity", sm_activity_name(s.activity)}, {"step", s.step},
                  {"start_ns", s.start_ns}, {"end_ns", s.end_ns}, {"what", s.what}});
  j["spans"] = std::move(js);
  json shares = json::array();
  for (const SmLaneShares& s : sm_lane_shares(t, spans))
    shares.push_back({{"span_ns", s.span_ns}, {"waiting", s.waiting}, {"softmax", s.softmax}, {"epilogue", s.epilogue},
                      {"tensor", s.tensor}, {"copies", s.copies}});
  j["shares"] = std::move(shares);
  return j.dump(1);
}

std::optional<SmTimeline> sm_timeline_from_json(const std::string& text, std::string* error) {
  using nlohmann::json;
  auto fail = [&](const std::string& why) -> std::optional<SmTimeline> {
    if (error) *error = "not an inside-one-SM timeline (attnscope bench --sm-timeline): " + why;
    return std::nullopt;
  };
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("the text is not a JSON object");
  SmTimeline t;
  try {
    t.kernel = j.at("kernel").get<std::string>();
    t.device = j.at("device").get<std::string>();
    t.spec = j.at("spec").get<std::string>();
    const json& cta = j.at("cta");
    t.q_tile = cta.at("q_tile").get<int32_t>();
    t.head = cta.at("head").get<int32_t>();
    t.batch = cta.at("batch").get<int32_t>();
    t.sm = cta.at("sm").get<int32_t>();
    t.steps = cta.at("steps").get<int32_t>();
    t.ns_per_cycle = j.at("ns_per_cycle").get<double>();
    const json& lanes = j.at("lanes");
    if (!lanes.is_array() || lanes.size() != 3) return fail("\"lanes\" must list the producer and two consumers");
    for (const json& lane : lanes) {
      t.lane_names.push_back(lane.at("name").get<std::string>());
      std::vector<SmEventRecord> events;
      for (const json& e : lane.at("events")) {
        const std::string name = e.at("event").get<std::string>();
        int kind = 0;
        while (kind < static_cast<int>(SmEvent::Count) && name != sm_event_name(static_cast<SmEvent>(kind))) ++kind;
        if (kind == static_cast<int>(SmEvent::Count)) return fail("unknown event \"" + name + "\"");
        events.push_back({static_cast<SmEvent>(kind), e.at("step").get<int32_t>(), e.at("t_ns").get<int64_t>()});
      }
      t.lanes.push_back(std::move(events));
    }
  } catch (const json::exception& e) {
    return fail(std::string("a field is missing or of the wrong type (") + e.what() + ")");
  }
  return t;
}

}  // namespace attnscope
