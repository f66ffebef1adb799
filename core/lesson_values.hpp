// lesson_values.hpp — the numbers a lesson's placeholders show that are computed rather than measured: the
// step's experiment ({n}, {heads}, ...), the cost model on that experiment ({calc.*}) and a model preset at the
// experiment's length ({model.*}). Measured values ({time.naive}, ...) come from the app's runs.
// Every value is computed here from the spec, never typed into a lesson.
#pragma once
#include <map>
#include <string>

#include "core/lesson.hpp"
#include "core/spec.hpp"

namespace attnscope {

// The names core can fill, and every algorithm and model preset: the core part of a LessonVocabulary (the app
// adds its modes, panels and highlightable elements).
LessonVocabulary core_lesson_vocabulary();

// Run names besides the attention algorithms: linear attention (φ = elu + 1; causal chunked when the step's mask is
// causal) on the step's Q, K and V, and the selective scan at the same width (channels = heads · d, state 16).
inline constexpr const char* kSequenceModelRuns[] = {"linear-attention", "selective-scan"};

// "n" -> "4096", "calc.pairs" -> "16,777,216", "calc.score_bytes" -> "64.0 MiB", "model.layers" -> "32", ...
// `model` is a preset name or "" (then no model.* values). Fractions print as percentages ("10.6%").
std::map<std::string, std::string> computed_lesson_values(const AttentionSpec& spec, const std::string& model);

// 16777216 -> "16,777,216"
std::string format_count(int64_t value);

}  // namespace attnscope
