// sm_timeline.hpp — inside one SM (issue 18): what each warpgroup of one CTA of the warp-specialised Hopper kernel
// (kernels/flash_tc/sm90a/flash_tc_ws.cuh) did over time, from the SM's own clock. The kernel, instrumented by a
// template parameter, logs events per lane (the producer warpgroup's copy thread, and one thread of each consumer
// warpgroup) in program order; sm_timeline_spans turns the logs into spans by the grammar below, and
// sm_lane_shares into the share of time each unit was busy.
//
// Grammar, per step i (a step = two 64-key visits of the schedule):
//   producer   StageWaitBegin .. StageWaitEnd   waiting for a free shared-memory stage (its readers' release)
//              CopyKIssued, CopyVIssued         the tensor copies of K_i and V_i handed to the copy engine; the
//                                               copy is in flight until the first consumer's KWaitEnd / VWaitEnd
//   consumer   QWaitBegin .. QWaitEnd           waiting for the Q tile (once)
//              KWaitBegin .. KWaitEnd           waiting for K_i to land
//              VWaitBegin .. VWaitEnd           waiting for V_{i−1} to land
//              TurnWaitBegin .. TurnWaitEnd     waiting for the other consumer's turn on the tensor cores (ping-pong)
//              ScoresIssued .. ScoresDone       S_i = Q·K_iᵀ on the tensor cores (asynchronous: the warpgroup only
//                                               waits for it at ScoresDone); both issue events are stamped once the
//                                               step's two batches are issued (a stamp between them would make the
//                                               compiler fence the tensor-core pipeline)
//              ValuesIssued .. ValuesDone       O += P_{i−1}·V_{i−1}; the tensor cores run it after S_i, so it is
//                                               drawn from max(ValuesIssued, ScoresDone)
//              ScoresDone .. SoftmaxEnd         the online softmax of S_i on the CUDA cores
//              EpilogueBegin .. EpilogueEnd     O / l written through shared memory to device memory
// A consumer's step 0 has no values; its last record (step = steps) has values only.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

enum class SmEvent : uint8_t {
  QWaitBegin, QWaitEnd, StageWaitBegin, StageWaitEnd, CopyKIssued, CopyVIssued, KWaitBegin, KWaitEnd, VWaitBegin,
  VWaitEnd, TurnWaitBegin, TurnWaitEnd, ScoresIssued, ValuesIssued, ScoresDone, SoftmaxEnd, ValuesDone,
  EpilogueBegin, EpilogueEnd,
  Count
};
const char* sm_event_name(SmEvent e);  // "KWaitBegin", ...

struct SmEventRecord {
  SmEvent event = SmEvent::QWaitBegin;
  int32_t step = 0;
  int64_t t_ns = 0;  // from the CTA's first event, on the SM clock converted to ns
};

// One CTA's timeline. lanes[0] is the producer, lanes[1] and lanes[2] the consumers.
struct SmTimeline {
  std::string kernel, device, spec;
  int32_t q_tile = 0, head = 0, batch = 0;
  int32_t sm = -1;           // %smid of the recorded CTA
  int32_t steps = 0;         // two-visit steps of its Q tile
  double ns_per_cycle = 0;   // SM clock to ns, measured over the CTA (globaltimer span ÷ clock64 span)
  std::vector<std::string> lane_names;
  std::vector<std::vector<SmEventRecord>> lanes;
};

enum class SmActivity : uint8_t { Waiting, CopyInFlight, TensorScores, TensorValues, Softmax, Epilogue };
const char* sm_activity_name(SmActivity a);  // "waiting", "copy in flight", "QKᵀ (tensor cores)", ...

struct SmSpan {
  int32_t lane = 0;
  SmActivity activity = SmActivity::Waiting;
  int32_t step = 0;
  int64_t start_ns = 0, end_ns = 0;
  std::string what;  // "wait: K₃", "QKᵀ step 3", ...
};
// Spans by the grammar above. An event missing its partner yields no span (the log is checked by the tests).
std::vector<SmSpan> sm_timeline_spans(const SmTimeline& timeline);

// Per lane, the shares of the CTA's span (first to last event of all lanes): waiting, and each activity; a consumer
// is busy on its CUDA cores during Softmax and Epilogue, and its tensor cores during TensorScores ∪ TensorValues.
struct SmLaneShares {
  double span_ns = 0;
  double waiting = 0, softmax = 0, epilogue = 0, tensor = 0, copies = 0;  // fractions of span_ns (union per kind)
};
std::vector<SmLaneShares> sm_lane_shares(const SmTimeline& timeline, const std::vector<SmSpan>& spans);

// JSON (nlohmann) of the timeline with its spans and shares: `attnscope bench --sm-timeline FILE`.
std::string sm_timeline_json(const SmTimeline& timeline);
// Reads what sm_timeline_json wrote (its events; spans and shares are recomputed). Empty with `error` set (naming
// the field) when the text is not such a file.
std::optional<SmTimeline> sm_timeline_from_json(const std::string& text, std::string* error);

}  // namespace attnscope
