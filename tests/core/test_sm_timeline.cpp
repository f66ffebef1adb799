// test_sm_timeline.cpp — the inside-one-SM timeline's grammar (core/sm_timeline.hpp) on a hand-made log with the
// shape the instrumented warp-specialised kernel writes: spans, the P·V that waits for the QKᵀ issued with it, copies
// in flight until the first consumer saw them land, busy shares as unions, and the JSON.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/sm_timeline.hpp"

namespace attnscope::test {
namespace {

SmTimeline two_step_log() {
  using E = SmEvent;
  SmTimeline t;
  t.kernel = "flash-tc warp-specialised";
  t.steps = 2;
  t.lane_names = {"producer", "consumer 0", "consumer 1"};
  t.lanes = {
      {{E::CopyKIssued, 0, 0}, {E::CopyVIssued, 0, 10}, {E::CopyKIssued, 1, 20}, {E::CopyVIssued, 1, 30}},
      {{E::QWaitBegin, 0, 0},     {E::QWaitEnd, 0, 100},     {E::KWaitBegin, 0, 100},  {E::KWaitEnd, 0, 150},
       {E::ScoresIssued, 0, 160}, {E::ScoresDone, 0, 260},   {E::SoftmaxEnd, 0, 400},  {E::KWaitBegin, 1, 400},
       {E::KWaitEnd, 1, 400},     {E::VWaitBegin, 0, 400},   {E::VWaitEnd, 0, 410},    {E::ScoresIssued, 1, 420},
       {E::ValuesIssued, 0, 425}, {E::ScoresDone, 1, 520},   {E::SoftmaxEnd, 1, 650},  {E::ValuesDone, 0, 700},
       {E::VWaitBegin, 1, 700},   {E::VWaitEnd, 1, 700},     {E::ValuesIssued, 1, 705}, {E::ValuesDone, 1, 800},
       {E::EpilogueBegin, 0, 800}, {E::EpilogueEnd, 0, 850}},
      {{E::QWaitBegin, 0, 0}, {E::QWaitEnd, 0, 120}, {E::KWaitBegin, 0, 120}, {E::KWaitEnd, 0, 140}}};
  return t;
}

const SmSpan* find(const std::vector<SmSpan>& spans, int lane, SmActivity a, int step) {
  for (const SmSpan& s : spans)
    if (s.lane == lane && s.activity == a && s.step == step) return &s;
  return nullptr;
}

}  // namespace

TEST_CASE("sm timeline: spans by the grammar, P·V after its QKᵀ, copies until the first consumer saw them") {
  const SmTimeline t = two_step_log();
  const std::vector<SmSpan> spans = sm_timeline_spans(t);
  auto at = [&](int lane, SmActivity a, int step) {
    const SmSpan* s = find(spans, lane, a, step);
    REQUIRE_MESSAGE(s != nullptr, "no span lane " << lane << " " << sm_activity_name(a) << " step " << step);
    return std::make_pair(s->start_ns, s->end_ns);
  };
  CHECK(at(1, SmActivity::TensorScores, 0) == std::make_pair(int64_t{160}, int64_t{260}));
  CHECK(at(1, SmActivity::Softmax, 0) == std::make_pair(int64_t{260}, int64_t{400}));
  CHECK(at(1, SmActivity::TensorScores, 1) == std::make_pair(int64_t{420}, int64_t{520}));
  // P·V of step 0 was issued at 425 with QKᵀ of step 1, and the tensor cores reached it when that finished.
  CHECK(at(1, SmActivity::TensorValues, 0) == std::make_pair(int64_t{520}, int64_t{700}));
  CHECK(at(1, SmActivity::Softmax, 1) == std::make_pair(int64_t{520}, int64_t{650}));  // overlaps that P·V
  CHECK(at(1, SmActivity::TensorValues, 1) == std::make_pair(int64_t{705}, int64_t{800}));  // the last: nothing before it
  CHECK(at(1, SmActivity::Epilogue, 0) == std::make_pair(int64_t{800}, int64_t{850}));
  // Copies: K of step 0 landed for consumer 1 (140) before consumer 0 (150).
  int copies = 0;
  for (const SmSpan& s : spans)
    if (s.lane == 0 && s.activity == SmActivity::CopyInFlight) {
      ++copies;
      if (s.what == "K copy, step 0") CHECK(s.end_ns == 140);
      if (s.what == "V copy, step 0") CHECK(s.end_ns == 410);
      if (s.what == "K copy, step 1") CHECK(s.end_ns == 400);
      if (s.what == "V copy, step 1") CHECK(s.end_ns == 700);
    }
  CHECK(copies == 4);
  int waits = 0;
  for (const SmSpan& s : spans) waits += s.lane == 1 && s.activity == SmActivity::Waiting;
  CHECK(waits == 5);  // Q, K0, K1, V0, V1

  // Shares of the CTA's span (0 … 850 ns), as unions.
  const std::vector<SmLaneShares> shares = sm_lane_shares(t, spans);
  REQUIRE(shares.size() == 3u);
  CHECK(shares[1].span_ns == doctest::Approx(850));
  CHECK(shares[1].waiting == doctest::Approx(160.0 / 850));
  CHECK(shares[1].softmax == doctest::Approx(270.0 / 850));
  CHECK(shares[1].tensor == doctest::Approx(475.0 / 850));
  CHECK(shares[1].epilogue == doctest::Approx(50.0 / 850));
  CHECK(shares[0].copies == doctest::Approx(700.0 / 850));  // [0, 700] covered by the four overlapping copies
  CHECK(shares[2].waiting == doctest::Approx(140.0 / 850));
}

TEST_CASE("sm timeline: an event without its partner gives no span; the JSON carries events, spans and shares") {
  SmTimeline t = two_step_log();
  t.lanes[2].pop_back();  // consumer 1's KWaitEnd of step 0 is lost
  const std::vector<SmSpan> spans = sm_timeline_spans(t);
  CHECK(find(spans, 2, SmActivity::Waiting, 0) != nullptr);  // its Q wait still pairs
  int lane2_waits = 0;
  for (const SmSpan& s : spans) lane2_waits += s.lane == 2;
  CHECK(lane2_waits == 1);
  const auto j = nlohmann::json::parse(sm_timeline_json(t));
  CHECK(j["kernel"] == "flash-tc warp-specialised");
  CHECK(j["cta"]["steps"] == 2);
  REQUIRE(j["lanes"].size() == 3u);
  CHECK(j["lanes"][1]["events"][3]["event"] == "KWaitEnd");
  CHECK(j["lanes"][1]["events"][3]["t_ns"] == 150);
  CHECK(j["spans"].size() == spans.size());
  CHECK(j["shares"].size() == 3u);
}

TEST_CASE("sm timeline: the JSON reads back to the same events; a malformed file is named, not guessed") {
  const SmTimeline t = two_step_log();
  std::string error;
  const auto back = sm_timeline_from_json(sm_timeline_json(t), &error);
  REQUIRE_MESSAGE(back.has_value(), error);
  REQUIRE(back->lanes.size() == 3u);
  for (size_t lane = 0; lane < 3; ++lane) {
    REQUIRE(back->lanes[lane].size() == t.lanes[lane].size());
    for (size_t e = 0; e < t.lanes[lane].size(); ++e) {
      CHECK(back->lanes[lane][e].event == t.lanes[lane][e].event);
      CHECK(back->lanes[lane][e].step == t.lanes[lane][e].step);
      CHECK(back->lanes[lane][e].t_ns == t.lanes[lane][e].t_ns);
    }
  }
  CHECK(back->lane_names == t.lane_names);
  CHECK(back->steps == 2);
  for (const char* bad : {"", "[1, 2]", "{\"kernel\": 3}", "{\"kernel\": \"k\", \"device\": \"d\"}"}) {
    CAPTURE(bad);
    std::string why;
    CHECK_FALSE(sm_timeline_from_json(bad, &why).has_value());
    CHECK(why.find("not an inside-one-SM timeline") == 0);
  }
  std::string text = sm_timeline_json(t);
  text.replace(text.find("KWaitEnd"), 8, "KWaitXYZ");
  std::string why;
  CHECK_FALSE(sm_timeline_from_json(text, &why).has_value());
  CHECK(why.find("unknown event \"KWaitXYZ\"") != std::string::npos);
}

}  // namespace attnscope::test
