// trace_io.hpp — saves a Trace (trace.hpp) as JSON and loads it back, so a GPU trace can be replayed on a
// machine without a GPU. The file carries "format": "attnscope-trace" and "version": kTraceFormatVersion;
// loading checks both and every field's type, and an error names the file and what is wrong with it.
// Non-finite numbers (a probe's m before any allowed key is -inf) are written as the strings "-inf", "inf", "nan".
#pragma once
#include <string>

#include "core/trace.hpp"

namespace attnscope {

struct TraceLoadResult {
  bool ok = false;
  Trace trace;
  std::string error;  // "<file>: <problem>"
};

std::string trace_to_json(const Trace& trace);
// `origin` names the source in error messages (a file path, or "<string>").
TraceLoadResult trace_from_json(const std::string& text, const std::string& origin = "<string>");

// false with `error` ("<path>: cannot write: <reason>") on failure.
bool save_trace(const Trace& trace, const std::string& path, std::string* error);
TraceLoadResult load_trace(const std::string& path);

bool operator==(const TileVisit& a, const TileVisit& b);
bool operator==(const CtaRecord& a, const CtaRecord& b);
bool operator==(const ProbeStep& a, const ProbeStep& b);  // NaN equals NaN here: a round trip must hold
bool operator==(const RowProbe& a, const RowProbe& b);
bool operator==(const Trace& a, const Trace& b);

}  // namespace attnscope
