// Reading a task's log safely while jr may still hand its file on (engine/task_logs.h): a log
// that stayed empty loses its name when its task ends, and its file becomes the next task's.
// A reader that holds a log open checks, after reading, that the file still carries the name
// it was opened by; then everything it read was written by that task, because a name is
// removed before its file is given to another task.
#pragma once

#include <filesystem>

namespace jr {

// Whether `fd` is still the file at `path`.
bool still_named(int fd, const std::filesystem::path& path);

}  // namespace jr
