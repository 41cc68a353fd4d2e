// JobSpec's cereal encoding: version 4 added the per-job options; a blob written by jr before
// them (version 3) still loads, its job getting the defaults.
#include <gtest/gtest.h>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>

#include "storage/codec.h"

namespace jr {
namespace {

// JobSpec as version 3 wrote it: the same fields in the same order, under version 3.
struct JobSpecV3 {
  JobSpec s;
  template <class Archive>
  void serialize(Archive& ar, std::uint32_t) {
    ar(s.name, s.command, s.shell, s.parallelism, s.retries, s.timeout_ms, s.cwd, s.priority, s.after_job, s.on_finish,
       s.uses_slot);
  }
};

}  // namespace
}  // namespace jr

CEREAL_CLASS_VERSION(jr::JobSpecV3, 3);

namespace jr {
namespace {

TEST(JobSpecCodecTest, AVersion3BlobLoadsWithTheDefaultPerJobOptions) {
  JobSpecV3 old;
  old.s.name = "old";
  old.s.command = {"echo", "{}"};
  old.s.parallelism = 3;
  old.s.on_finish = "true";
  old.s.uses_slot = true;
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(old);
  }
  auto spec = decode_job_spec(out.str());
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->name, "old");
  EXPECT_EQ(spec->command, (std::vector<std::string>{"echo", "{}"}));
  EXPECT_EQ(spec->parallelism, 3);
  EXPECT_EQ(spec->on_finish, "true");
  EXPECT_TRUE(spec->uses_slot);
  const JobSpec defaults;
  EXPECT_EQ(spec->output, "");
  EXPECT_EQ(spec->keep_checkpoints, defaults.keep_checkpoints);
  EXPECT_EQ(spec->max_checkpoint_bytes, defaults.max_checkpoint_bytes);
  EXPECT_EQ(spec->max_result_bytes, defaults.max_result_bytes);
  EXPECT_EQ(spec->stall_timeout_ms, 0);
  EXPECT_FALSE(spec->stall_kill);
  EXPECT_EQ(spec->expect_ms, 0);
}

TEST(JobSpecCodecTest, PerJobOptionsRoundTrip) {
  JobSpec s;
  s.output = "{.}.gz";
  s.keep_checkpoints = 5;
  s.max_checkpoint_bytes = 4096;
  s.max_result_bytes = 123;
  s.stall_timeout_ms = 2000;
  s.stall_kill = true;
  s.expect_ms = 60000;
  s.on_finish = "echo $JR_JOB_STATE > done";
  auto back = decode_job_spec(encode_job_spec(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->output, s.output);
  EXPECT_EQ(back->keep_checkpoints, 5);
  EXPECT_EQ(back->max_checkpoint_bytes, 4096u);
  EXPECT_EQ(back->max_result_bytes, 123u);
  EXPECT_EQ(back->stall_timeout_ms, 2000);
  EXPECT_TRUE(back->stall_kill);
  EXPECT_EQ(back->expect_ms, 60000);
  EXPECT_EQ(back->on_finish, s.on_finish);
}

}  // namespace
}  // namespace jr
