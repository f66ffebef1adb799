// cmd_scene.cpp — `attnscope scene --from-lesson FILE.json --step K --out scene.json`: one lesson step as a scene
// file (core/lesson_scene.hpp), for `attnscope render --scene`. Needs no GUI: it reads and writes JSON only.
#include <iostream>

#include "app/cli/args.hpp"
#include "app/cli/commands.hpp"
#include "core/atomic_file.hpp"
#include "core/lesson.hpp"
#include "core/lesson_scene.hpp"

namespace attnscope::app {
namespace {

constexpr const char* kName = "scene";

constexpr const char* kHelp =
    "attnscope scene --from-lesson FILE.json --step K --out SCENE.json [--duration S] [--fps F] [--size WxH] [--sweep]\n"
    "\n"
    "Writes step K of a lesson as a scene file: the step's experiment, mode, panel, zoom and highlight, and its\n"
    "replay animated from 0 to the step's position over the duration (from 0 to 1 with --sweep, or when the step\n"
    "stands at 0). Render it with `attnscope render --scene SCENE.json --out video.mp4`.\n"
    "\n"
    "  --from-lesson FILE.json  a lesson (assets/lessons/*.json)                       required\n"
    "  --step K                 the step, 1 = the first                                 required\n"
    "  --out SCENE.json         where to write the scene                                required\n"
    "  --duration S             seconds of video, 0..600                                default 4\n"
    "  --fps F                  frames per second, 1..120                               default 30\n"
    "  --size WxH               picture size, 16x16..7680x4320                          default 1280x720\n"
    "  --sweep                  animate the replay 0 -> 1 whatever the step's position\n"
    "\n"
    "Exit status: 0 written; 1 the scene could not be written; 2 usage error (unknown flag, bad value, a lesson\n"
    "file that is missing or malformed, a step it does not have).\n"
    "\n"
    "example: attnscope scene --from-lesson assets/lessons/04-flashattention.json --step 1 --sweep --out tiles.json";

// "960x540" -> 960, 540 within the scene's limits; false with an error naming --size.
bool parse_scene_size(const std::string& text, int* width, int* height, std::string* error) {
  const auto x = text.find('x');
  if (x != std::string::npos) {
    const auto w = parse_integer(std::string_view(text).substr(0, x), 16, 7680, nullptr);
    const auto h = parse_integer(std::string_view(text).substr(x + 1), 16, 4320, nullptr);
    if (w && h) {
      *width = static_cast<int>(*w);  // in range: checked above
      *height = static_cast<int>(*h);
      return true;
    }
  }
  *error = "--size '" + text + "': use WxH with 16 <= W <= 7680 and 16 <= H <= 4320, e.g. 1280x720";
  return false;
}

int run_scene(const std::vector<std::string>& argv) {
  Args args(argv, {"--sweep"});
  std::vector<std::string> errors;
  const auto lesson_path = args.get("--from-lesson");
  const auto out = args.get("--out");
  const int64_t step = args.get_int("--step", 0, 1, 1 << 20);  // then checked against the lesson's steps
  LessonSceneOptions options;
  options.duration = args.get_real("--duration", options.duration, 0, 600);
  options.fps = args.get_real("--fps", options.fps, 1, 120);
  options.sweep = args.has("--sweep");
  if (auto size = args.get("--size")) {
    std::string error;
    if (!parse_scene_size(*size, &options.width, &options.height, &error)) errors.push_back(error);
  }
  for (auto& e : args.errors({"--from-lesson", "--step", "--out", "--duration", "--fps", "--size", "--sweep"}))
    errors.push_back(e);
  if (!lesson_path) errors.push_back("--from-lesson FILE.json is required (a lesson, e.g. assets/lessons/04-flashattention.json)");
  if (!out) errors.push_back("--out SCENE.json is required (where to write the scene)");
  if (!args.get("--step")) errors.push_back("--step K is required (1 = the lesson's first step)");
  if (!errors.empty()) return report_errors(kName, errors);

  LessonLoad load = load_lesson_file(*lesson_path);
  if (!load.lesson) return report_errors(kName, load.errors);
  const Lesson& lesson = *load.lesson;
  const int64_t count = static_cast<int64_t>(lesson.steps.size());
  if (step < 1 || step > count) {
    std::vector<std::string> why = {"--step " + std::to_string(step) + ": '" + *lesson_path + "' has steps 1.." +
                                    std::to_string(count) + ":"};
    for (int64_t i = 0; i < count; ++i)
      why.push_back("  " + std::to_string(i + 1) + "  " + lesson.steps[static_cast<std::size_t>(i)].title);
    return report_errors(kName, why);
  }
  const LessonStep& chosen = lesson.steps[static_cast<std::size_t>(step - 1)];
  const Scene scene = scene_from_lesson_step(chosen, options);
  const FileWriteResult written = write_file_atomically(*out, scene_to_json(scene));
  if (!written.ok) {
    std::cerr << "attnscope " << kName << ": " << written.error << "\n";
    return 1;
  }
  std::cout << "wrote " << *out << ": step " << step << " of " << count << " (\"" << chosen.title << "\"), "
            << scene.mode << ", " << scene.width << "x" << scene.height << ", " << scene_frame_count(scene)
            << " frames at " << scene.fps << " fps\n";
  return 0;
}

}  // namespace

const Command kSceneCommand{"scene", "a lesson step as a scene file: attnscope scene --from-lesson L.json --step K ...",
                            kHelp, run_scene};

}  // namespace attnscope::app
