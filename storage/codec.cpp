#include "storage/codec.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <sstream>

namespace jr {

template <class Archive>
void serialize(Archive& ar, TaskSpec& s, std::uint32_t version) {
  ar(s.argv, s.env, s.cwd, s.timeout_ms, s.retries, s.cpus, s.gpus, s.mem_bytes);
  if (version >= 2) ar(s.outputs);
}

template <class Archive>
void serialize(Archive& ar, JobSpec& s, std::uint32_t version) {
  ar(s.name, s.command, s.shell, s.parallelism, s.retries, s.timeout_ms, s.cwd, s.priority,
     s.after_job);
  if (version >= 2) ar(s.on_finish);
  if (version >= 3) ar(s.uses_slot);
  if (version >= 4) {
    ar(s.output, s.keep_checkpoints, s.max_checkpoint_bytes, s.max_result_bytes, s.stall_timeout_ms, s.stall_kill,
       s.expect_ms);
  }
}

}  // namespace jr

// Version 2 added TaskSpec::outputs and JobSpec::on_finish; JobSpec version 3 added uses_slot,
// version 4 the per-job options (output, checkpoint and result limits, stall, expect). Older
// blobs still load, their jobs getting the defaults.
CEREAL_CLASS_VERSION(jr::TaskSpec, 2);
CEREAL_CLASS_VERSION(jr::JobSpec, 4);

namespace jr {
namespace {

template <typename T>
std::string encode(const T& value) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(value);
  }
  return std::move(out).str();
}

template <typename T>
Result<T> decode(const std::string& blob, const char* what) {
  try {
    std::istringstream in(blob);
    cereal::PortableBinaryInputArchive ar(in);
    T value;
    ar(value);
    return value;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::Corrupt, std::string("unreadable ") + what + ": " + e.what());
  }
}

// FNV-1a, 64 bits, twice with different offsets: 128 bits of identity without a crypto
// library. Fields are length-prefixed so ("ab","c") and ("a","bc") differ.
struct Digest {
  std::uint64_t a = 0xcbf29ce484222325ULL;
  std::uint64_t b = 0x84222325cbf29ce4ULL;
  void bytes(const void* p, std::size_t n) {
    auto* c = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      a = (a ^ c[i]) * 0x100000001b3ULL;
      b = (b ^ c[i]) * 0x100000001b3ULL;
      b ^= b >> 29;
    }
  }
  void field(std::string_view s) {
    std::uint64_t n = s.size();
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  }
  std::string hex() const {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b));
    return buf;
  }
};

}  // namespace

std::string encode_task_spec(const TaskSpec& spec) { return encode(spec); }
Result<TaskSpec> decode_task_spec(const std::string& blob) { return decode<TaskSpec>(blob, "task spec"); }
std::string encode_job_spec(const JobSpec& spec) { return encode(spec); }
Result<JobSpec> decode_job_spec(const std::string& blob) { return decode<JobSpec>(blob, "job spec"); }

std::string task_identity(const TaskSpec& spec) {
  Digest d;
  d.field("argv");
  for (auto& a : spec.argv) d.field(a);
  d.field("cwd");
  d.field(spec.cwd);
  d.field("env");
  for (auto& [k, v] : spec.env) {
    d.field(k);
    d.field(v);
  }
  // What a task writes is part of what it is; identities of tasks without outputs stay as
  // they were before outputs existed.
  if (!spec.outputs.empty()) {
    d.field("outputs");
    for (auto& o : spec.outputs) d.field(o);
  }
  return d.hex();
}

std::string occurrence_identity(const std::string& digest, std::uint64_t k) {
  return k == 0 ? digest : digest + "." + std::to_string(k);
}

std::string template_identity(const JobSpec& spec) {
  Digest d;
  d.field("command");
  for (auto& a : spec.command) d.field(a);
  d.field(spec.shell ? "shell" : "argv");
  d.field(spec.cwd);
  return d.hex();
}

}  // namespace jr
