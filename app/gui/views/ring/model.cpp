// model.cpp — the Context parallel mode's request checks, result key and replay clock (model.hpp).
#include "app/gui/views/ring/model.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace attnscope::gui {

std::string RingRequest::key() const {
  std::ostringstream os;
  os << ranks << "|" << n << "|" << heads << "|" << kv_heads << "|" << head_dim << "|" << causal << "|" << link_gbs
     << "|" << seed;
  return os.str();
}

std::string ring_request_problem(const RingRequest& r) {
  if (r.ranks < 1 || r.ranks > kRingMaxRanks) return "ranks " + std::to_string(r.ranks) + ": must be 1..64";
  if (r.n < 1 || r.n > 8192) return "N " + std::to_string(r.n) + ": must be 1..8192";
  if (r.ranks > r.n)
    return "ranks " + std::to_string(r.ranks) + " > N " + std::to_string(r.n) + ": every rank needs a token";
  if (r.heads < 1 || r.kv_heads < 1 || r.heads % r.kv_heads != 0)
    return "heads " + std::to_string(r.heads) + " must be a multiple of KV heads " + std::to_string(r.kv_heads);
  if (r.head_dim < 1 || r.head_dim > 256) return "head dim " + std::to_string(r.head_dim) + ": must be 1..256";
  if (!(r.link_gbs > 0)) return "link bandwidth must be positive";
  return "";
}

int RingReplay::step_at(double position) const {
  return std::clamp(static_cast<int>(std::floor(position)), 0, ranks - 1);
}

double RingReplay::hop_progress(double position) const {
  const int step = step_at(position);
  if (step >= ranks - 1) return 0.0;  // the last step forwards nothing
  const double fraction = std::clamp(position - step, 0.0, 1.0);
  return std::clamp(2.0 * fraction - 1.0, 0.0, 1.0);
}

double RingReplay::shard_location(int owner, double position) const {
  const int step = step_at(position);
  const double at = static_cast<double>(owner + step) + hop_progress(position);
  return std::fmod(at, static_cast<double>(ranks));
}

double ring_timeline_time(const RingTimeline& timeline, int rank, double position) {
  if (rank < 0 || rank >= static_cast<int>(timeline.ranks.size())) return 0.0;
  const auto& steps = timeline.ranks[static_cast<size_t>(rank)].steps;
  if (steps.empty()) return 0.0;
  const int step = std::clamp(static_cast<int>(std::floor(position)), 0, static_cast<int>(steps.size()) - 1);
  const double fraction = std::clamp(position - step, 0.0, 1.0);
  const RingStepTimes& st = steps[static_cast<size_t>(step)];
  return st.start_ms + fraction * (st.end_ms + st.wait_ms - st.start_ms);
}

}  // namespace attnscope::gui
