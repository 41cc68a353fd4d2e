#include "daemon/outputs.h"

#include <unistd.h>

#include "base/atomic_file.h"

namespace jr {

void commit_outputs(const TaskSpec& spec, Exit* exit) {
  for (auto& out : spec.outputs) {
    std::string partial = partial_path(out);
    if (::access(partial.c_str(), F_OK) != 0) {
      exit->output_missing = true;
      exit->detail = "declared output missing: " + out;
      discard_partial_outputs(spec);
      return;
    }
  }
  for (auto& out : spec.outputs) {
    if (auto st = rename_durably(partial_path(out), out); !st) {
      exit->output_missing = true;
      exit->detail = "cannot commit declared output " + out + ": " + st.error().message;
      return;
    }
  }
}

void discard_partial_outputs(const TaskSpec& spec) {
  for (auto& out : spec.outputs) ::unlink(partial_path(out).c_str());
}

}  // namespace jr
