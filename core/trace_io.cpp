// trace_io.cpp — JSON form of a Trace (see trace_io.hpp), with nlohmann::json.
#include "core/trace_io.hpp"

#include "core/atomic_file.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace attnscope {

namespace {

using nlohmann::json;
constexpr const char* kFormatName = "attnscope-trace";

json real_to_json(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

// Thrown inside the loader with the JSON path of the bad field; caught and turned into an error message.
struct FieldError {
  std::string message;
};

const json& field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) throw FieldError{where + " is not an object"};
  auto it = obj.find(key);
  if (it == obj.end()) throw FieldError{"field '" + where + "." + key + "' is missing"};
  return *it;
}

int64_t get_int(const json& obj, const char* key, const std::string& where) {
  const json& v = field(obj, key, where);
  if (!v.is_number_integer()) throw FieldError{"field '" + where + "." + key + "' must be an integer"};
  return v.get<int64_t>();
}

int32_t get_int32(const json& obj, const char* key, const std::string& where) {
  const int64_t v = get_int(obj, key, where);
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
    throw FieldError{"field '" + where + "." + key + "' is out of range"};
  return static_cast<int32_t>(v);
}

double get_real(const json& obj, const char* key, const std::string& where) {
  const json& v = field(obj, key, where);
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  throw FieldError{"field '" + where + "." + key + "' must be a number (or \"inf\", \"-inf\", \"nan\")"};
}

std::string get_string(const json& obj, const char* key, const std::string& where) {
  const json& v = field(obj, key, where);
  if (!v.is_string()) throw FieldError{"field '" + where + "." + key + "' must be a string"};
  return v.get<std::string>();
}

const json& get_array(const json& obj, const char* key, const std::string& where) {
  const json& v = field(obj, key, where);
  if (!v.is_array()) throw FieldError{"field '" + where + "." + key + "' must be an array"};
  return v;
}

bool same_real(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

std::string trace_to_json(const Trace& t) {
  json j;
  j["format"] = kFormatName;
  j["version"] = t.version;
  j["source"] = t.source;
  j["algorithm"] = t.algorithm;
  j["device"] = t.device;
  j["clock"] = t.clock;
  j["spec"] = t.spec;
  j["br"] = t.br; j["bc"] = t.bc; j["tr"] = t.tr; j["tc"] = t.tc;
  j["units"] = t.units;
  json ctas = json::array();
  for (auto& c : t.ctas) {
    // Visits as compact [k_tile, start_ns, end_ns] triples: traces of long sequences have many.
    json visits = json::array();
    for (auto& v : c.visits) visits.push_back(json::array({v.k_tile, v.start_ns, v.end_ns}));
    ctas.push_back({{"cta", c.cta}, {"batch", c.batch}, {"head", c.head}, {"q_tile", c.q_tile}, {"unit", c.unit},
                    {"visits", std::move(visits)}});
  }
  j["ctas"] = std::move(ctas);
  json probes = json::array();
  for (auto& p : t.probes) {
    json steps = json::array();
    for (auto& s : p.steps)
      steps.push_back({{"k_tile", s.k_tile}, {"m", real_to_json(s.m)}, {"l", real_to_json(s.l)},
                       {"rescale", real_to_json(s.rescale)}, {"acc_norm", real_to_json(s.acc_norm)}});
    probes.push_back({{"batch", p.batch}, {"head", p.head}, {"row", p.row}, {"steps", std::move(steps)}});
  }
  j["probes"] = std::move(probes);
  return j.dump();  // compact: traces of long sequences hold many visits
}

TraceLoadResult trace_from_json(const std::string& text, const std::string& origin) {
  TraceLoadResult r;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    const bool truncated = e.byte >= text.size();
    r.error = origin + ": " + (truncated ? "truncated or incomplete JSON (ends at byte " : "malformed JSON at byte ") +
              std::to_string(e.byte) + "): " + e.what();
    return r;
  }
  try {
    if (!j.is_object()) throw FieldError{"the top level is not a JSON object"};
    if (!j.contains("format") || !j["format"].is_string() || j["format"].get<std::string>() != kFormatName)
      throw FieldError{std::string("not an attnscope trace (field 'format' must be \"") + kFormatName + "\")"};
    const int64_t version = get_int(j, "version", "trace");
    if (version != kTraceFormatVersion)
      throw FieldError{"trace format version " + std::to_string(version) + " is not supported (this build reads version " +
                       std::to_string(kTraceFormatVersion) + "); re-record the trace with this version"};
    Trace& t = r.trace;
    t.version = static_cast<int>(version);
    t.source = get_string(j, "source", "trace");
    t.algorithm = get_string(j, "algorithm", "trace");
    t.device = get_string(j, "device", "trace");
    t.clock = get_string(j, "clock", "trace");
    t.spec = get_string(j, "spec", "trace");
    t.br = get_int32(j, "br", "trace"); t.bc = get_int32(j, "bc", "trace");
    t.tr = get_int32(j, "tr", "trace"); t.tc = get_int32(j, "tc", "trace");
    t.units = get_int32(j, "units", "trace");
    const json& ctas = get_array(j, "ctas", "trace");
    t.ctas.reserve(ctas.size());
    for (size_t i = 0; i < ctas.size(); ++i) {
      const std::string where = "ctas[" + std::to_string(i) + "]";
      const json& c = ctas[i];
      CtaRecord rec{get_int32(c, "cta", where), get_int32(c, "batch", where), get_int32(c, "head", where),
                    get_int32(c, "q_tile", where), get_int32(c, "unit", where), {}};
      const json& visits = get_array(c, "visits", where);
      for (size_t k = 0; k < visits.size(); ++k) {
        const json& v = visits[k];
        if (!v.is_array() || v.size() != 3 || !v[0].is_number_integer() || !v[1].is_number_integer() ||
            !v[2].is_number_integer())
          throw FieldError{"'" + where + ".visits[" + std::to_string(k) + "]' must be [k_tile, start_ns, end_ns] integers"};
        rec.visits.push_back({v[0].get<int32_t>(), v[1].get<int64_t>(), v[2].get<int64_t>()});
      }
      t.ctas.push_back(std::move(rec));
    }
    const json& probes = get_array(j, "probes", "trace");
    for (size_t i = 0; i < probes.size(); ++i) {
      const std::string where = "probes[" + std::to_string(i) + "]";
      const json& p = probes[i];
      RowProbe probe{get_int32(p, "batch", where), get_int32(p, "head", where), get_int32(p, "row", where), {}};
      const json& steps = get_array(p, "steps", where);
      for (size_t k = 0; k < steps.size(); ++k) {
        const std::string sw = where + ".steps[" + std::to_string(k) + "]";
        probe.steps.push_back({get_int32(steps[k], "k_tile", sw), get_real(steps[k], "m", sw),
                               get_real(steps[k], "l", sw), get_real(steps[k], "rescale", sw),
                               get_real(steps[k], "acc_norm", sw)});
      }
      t.probes.push_back(std::move(probe));
    }
  } catch (const FieldError& e) {
    r.error = origin + ": " + e.message;
    r.trace = Trace{};
    return r;
  }
  r.ok = true;
  return r;
}

bool save_trace(const Trace& trace, const std::string& path, std::string* error) {
  // Temporary file renamed into place: a full disk or a size limit leaves no half-written JSON.
  const FileWriteResult written = write_file_atomically(path, trace_to_json(trace) + "\n");
  if (!written.ok && error) *error = written.error;
  return written.ok;
}

TraceLoadResult load_trace(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    TraceLoadResult r;
    r.error = path + ": cannot open: " + std::strerror(errno);
    return r;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (ss.str().empty()) {
    TraceLoadResult r;
    r.error = path + ": the file is empty";
    return r;
  }
  return trace_from_json(ss.str(), path);
}

bool operator==(const TileVisit& a, const TileVisit& b) {
  return a.k_tile == b.k_tile && a.start_ns == b.start_ns && a.end_ns == b.end_ns;
}
bool operator==(const CtaRecord& a, const CtaRecord& b) {
  return a.cta == b.cta && a.batch == b.batch && a.head == b.head && a.q_tile == b.q_tile && a.unit == b.unit &&
         a.visits == b.visits;
}
bool operator==(const ProbeStep& a, const ProbeStep& b) {
  return a.k_tile == b.k_tile && same_real(a.m, b.m) && same_real(a.l, b.l) && same_real(a.rescale, b.rescale) &&
         same_real(a.acc_norm, b.acc_norm);
}
bool operator==(const RowProbe& a, const RowProbe& b) {
  return a.batch == b.batch && a.head == b.head && a.row == b.row && a.steps == b.steps;
}
bool operator==(const Trace& a, const Trace& b) {
  return a.version == b.version && a.source == b.source && a.algorithm == b.algorithm && a.device == b.device &&
         a.clock == b.clock && a.spec == b.spec && a.br == b.br && a.bc == b.bc && a.tr == b.tr && a.tc == b.tc &&
         a.units == b.units && a.ctas == b.ctas && a.probes == b.probes;
}

}  // namespace attnscope
