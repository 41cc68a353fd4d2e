#include "cli/task/task_ref.h"

#include <cctype>

#include "storage/task_reads.h"

namespace jr {
namespace {

std::optional<std::int64_t> number(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::stoll(s);
}

}  // namespace

Result<TaskRef> parse_task_ref(const std::string& text) {
  auto bad = make_error(ErrorCode::Usage, "invalid task reference '" + text + "' (expected JOB, JOB:INDEX or :INDEX)");
  TaskRef ref;
  auto colon = text.find(':');
  std::string job = colon == std::string::npos ? text : text.substr(0, colon);
  if (!job.empty()) {
    auto j = number(job);
    if (!j || *j == 0) return bad;
    ref.job = *j;
  }
  if (colon != std::string::npos) {
    auto i = number(text.substr(colon + 1));
    if (!i) return bad;
    ref.index = *i;
  }
  if (ref.job == 0 && !ref.index) return bad;
  return ref;
}

Result<TaskId> resolve_task_ref(Store& store, const std::string& text) {
  auto ref = parse_task_ref(text);
  if (!ref) return ref.error();
  if (!ref->index) return make_error(ErrorCode::Usage, "'" + text + "' names a job; give JOB:INDEX for one task");
  auto id = task_at_index(store, ref->job, *ref->index);
  if (!id) return id.error();
  if (!*id) return make_error(ErrorCode::NotFound, "no task " + text);
  return **id;
}

}  // namespace jr
