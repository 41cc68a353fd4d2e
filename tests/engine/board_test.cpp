#include "jr/board.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace jr::board {
namespace {

// Every field of the record written for counter n derives from n, so a read that mixes two
// writes is caught.
std::string message_for(std::uint64_t n) {
  std::string text;
  while (text.size() < kMessageBytes) text += std::to_string(n) + ' ';
  return text;
}

void write_counter(Writer& writer, std::uint64_t n, const std::string& message) {
  writer.write(n, static_cast<std::uint32_t>(n % 1000), static_cast<double>(n % 100) / 100,
               message);
}

::testing::AssertionResult consistent(const SlotRecord& r) {
  const std::string expected = message_for(r.task_id).substr(0, kMessageBytes - 1);
  if (r.attempt == r.task_id % 1000 && r.fraction == static_cast<double>(r.task_id % 100) / 100 &&
      r.message == expected)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "torn record: task " << r.task_id << " attempt "
                                       << r.attempt << " fraction " << r.fraction << " message '"
                                       << r.message << "'";
}

// GoogleTest reports an exception as a failure of the test that threw it.
template <typename T>
T must(std::optional<T> value, const std::string& err) {
  if (!value) throw std::runtime_error(err);
  return std::move(*value);
}

class BoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "jr-board-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/board";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Board create(std::uint32_t slots, std::uint32_t pid = 4242) {
    std::string err;
    return must(Board::create(path_, slots, pid, &err), err);
  }
  Writer open_writer(std::uint32_t slot) {
    std::string err;
    return must(Writer::open(path_, slot, &err), err);
  }
  Reader open_reader() {
    std::string err;
    return must(Reader::open(path_, &err), err);
  }
  // Overwrites bytes of the board file, as a crash or another program might have.
  void poke(off_t offset, const void* bytes, std::size_t size) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes, size, offset), static_cast<ssize_t>(size));
    ::close(fd);
  }
  // Leaves the slot's sequence odd, exactly what a writer killed between its two seq updates does.
  void leave_mid_write(std::uint32_t slot) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    const std::size_t size = kHeaderBytes + kSlotBytes * (slot + 1);
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    ASSERT_NE(base, MAP_FAILED);
    char* seq = static_cast<char*>(base) + kHeaderBytes + kSlotBytes * slot;
    std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(seq)).fetch_or(1);
    ::munmap(base, size);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(BoardTest, WrittenRecordReadsBack) {
  Board board = create(4);
  Reader reader = open_reader();
  EXPECT_EQ(reader.slot_count(), 4u);
  EXPECT_EQ(reader.engine_pid(), 4242u);
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_FALSE(reader.read(i)) << "unwritten slot " << i;

  Writer writer = open_writer(2);
  const std::int64_t before = detail::now_ms();
  writer.write(7, 3, 0.25, "epoch 1 of 4");
  const std::int64_t after = detail::now_ms();

  auto record = reader.read(2);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->task_id, 7u);
  EXPECT_EQ(record->attempt, 3u);
  EXPECT_EQ(record->fraction, 0.25);
  EXPECT_STREQ(record->message, "epoch 1 of 4");
  EXPECT_GE(record->updated_ms, before);
  EXPECT_LE(record->updated_ms, after);
  EXPECT_FALSE(reader.read(1));
  EXPECT_FALSE(reader.read(3));
  auto seen_by_engine = board.read(2);
  ASSERT_TRUE(seen_by_engine);
  EXPECT_EQ(seen_by_engine->task_id, 7u);
}

TEST_F(BoardTest, ResetSlotHandsItToTheNextTask) {
  Board board = create(2);
  Writer writer = open_writer(1);
  writer.write(7, 1, 0.9, "almost");
  ASSERT_TRUE(board.reset_slot(1, 8, 2));
  auto record = open_reader().read(1);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->task_id, 8u);
  EXPECT_EQ(record->attempt, 2u);
  EXPECT_LT(record->fraction, 0);
  EXPECT_STREQ(record->message, "");
}

TEST_F(BoardTest, FractionIsClampedAndNanIsUnknown) {
  Board board = create(1);
  Writer writer = open_writer(0);
  writer.write(1, 1, 1.5, "");
  EXPECT_EQ(board.read(0).value().fraction, 1.0);
  writer.write(1, 1, std::nan(""), "");
  EXPECT_EQ(board.read(0).value().fraction, -1.0);
  writer.write(1, 1, -0.5, "");
  EXPECT_EQ(board.read(0).value().fraction, -1.0);
}

TEST_F(BoardTest, LongMessageIsCutAndStaysValidUtf8) {
  Board board = create(1);
  Writer writer = open_writer(0);
  writer.write(1, 1, 0, std::string(300, 'x'));
  EXPECT_EQ(std::string(board.read(0).value().message), std::string(kMessageBytes - 1, 'x'));

  // "é" is two bytes; the second would be byte 160, past the room left for the NUL.
  writer.write(1, 1, 0, std::string(kMessageBytes - 2, 'a') + "\xc3\xa9" + "tail");
  EXPECT_EQ(std::string(board.read(0).value().message), std::string(kMessageBytes - 2, 'a'));

  writer.write(1, 1, 0, "short");
  EXPECT_STREQ(board.read(0).value().message, "short") << "no byte of the longer one shows";
}

TEST_F(BoardTest, SlotOutOfRangeIsRefused) {
  Board board = create(4);
  std::string err;
  EXPECT_FALSE(Writer::open(path_, 4, &err));
  EXPECT_NE(err.find("out of range"), std::string::npos) << err;
  EXPECT_FALSE(board.reset_slot(4, 1, 1));
  EXPECT_FALSE(board.read(4));
  EXPECT_FALSE(open_reader().read(UINT32_MAX));
  EXPECT_FALSE(Board::create(dir_ + "/empty", 0, 1, &err));
}

TEST_F(BoardTest, FromEnvUsesTheSlotAndIdsJrGives) {
  Board board = create(4);
  const std::string path = path_;
  auto with_env = [&](const char* slot, const char* task, const char* attempt, std::string* err) {
    ::setenv("JR_BOARD", path.c_str(), 1);
    ::setenv("JR_SLOT", slot, 1);
    ::setenv("JR_TASK_ID", task, 1);
    ::setenv("JR_ATTEMPT", attempt, 1);
    auto writer = Writer::from_env(err);
    for (const char* name : {"JR_BOARD", "JR_SLOT", "JR_TASK_ID", "JR_ATTEMPT"}) ::unsetenv(name);
    return writer;
  };
  std::string err;
  auto writer = with_env("3", "99", "2", &err);
  ASSERT_TRUE(writer) << err;
  writer->write(0.5, "half");
  auto record = board.read(2);
  ASSERT_TRUE(record) << "JR_SLOT is 1-based";
  EXPECT_EQ(record->task_id, 99u);
  EXPECT_EQ(record->attempt, 2u);
  EXPECT_STREQ(record->message, "half");

  EXPECT_FALSE(with_env("0", "99", "2", &err));
  EXPECT_FALSE(with_env("5", "99", "2", &err));
  EXPECT_FALSE(with_env("1", "12x", "2", &err));
  EXPECT_FALSE(with_env("1", "99", "", &err));
  EXPECT_FALSE(Writer::from_env(&err));
  EXPECT_NE(err.find("JR_BOARD"), std::string::npos) << err;
}

TEST_F(BoardTest, ReaderRefusesFilesThatAreNotABoard) {
  std::string err;
  EXPECT_FALSE(Reader::open(path_, &err)) << "missing file";

  std::ofstream(path_, std::ios::binary).flush();
  EXPECT_FALSE(Reader::open(path_, &err)) << "empty file";
  std::ofstream(path_, std::ios::binary) << "JRBOARD";
  EXPECT_FALSE(Reader::open(path_, &err)) << "shorter than a header";

  create(4);
  const std::uint32_t version = kLayoutVersion + 1;
  poke(8, &version, sizeof version);
  EXPECT_FALSE(Reader::open(path_, &err));
  EXPECT_NE(err.find("layout version 2"), std::string::npos) << err;

  create(4);
  poke(0, "XXBOARD", 8);
  EXPECT_FALSE(Reader::open(path_, &err)) << "wrong magic";

  create(4);
  ASSERT_EQ(::truncate(path_.c_str(), kHeaderBytes + kSlotBytes), 0);
  EXPECT_FALSE(Reader::open(path_, &err)) << "header claims 4 slots, file holds 1";
  EXPECT_NE(err.find("too short"), std::string::npos) << err;
  EXPECT_FALSE(Writer::open(path_, 0, &err));
}

TEST_F(BoardTest, CreateIsPrivateAndNeverDisturbsAnOldReader) {
  create(2, 100);
  Writer writer = open_writer(0);
  writer.write(5, 1, 0.5, "old engine");
  Reader old_reader = open_reader();

  const mode_t old_umask = ::umask(0);
  create(3, 200);
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_EQ(old_reader.engine_pid(), 100u);
  ASSERT_TRUE(old_reader.read(0));
  EXPECT_STREQ(old_reader.read(0).value().message, "old engine");
  Reader new_reader = open_reader();
  EXPECT_EQ(new_reader.engine_pid(), 200u);
  EXPECT_EQ(new_reader.slot_count(), 3u);
  EXPECT_FALSE(new_reader.read(0));
}

TEST_F(BoardTest, SlotLeftMidWriteIsUnreadableUntilWrittenOrReset) {
  Board board = create(2);
  Writer writer = open_writer(1);
  writer.write(1, 1, 0.1, "before the crash");
  leave_mid_write(1);
  EXPECT_FALSE(board.read(1)) << "a reader must give up on an odd sequence, not hang";
  EXPECT_FALSE(open_reader().read(1));

  writer.write(1, 1, 0.2, "taken over");
  ASSERT_TRUE(board.read(1)) << "the next write takes over a slot its dead writer left odd";
  EXPECT_STREQ(board.read(1).value().message, "taken over");

  leave_mid_write(1);
  ASSERT_TRUE(board.reset_slot(1, 2, 1));
  ASSERT_TRUE(board.read(1));
  EXPECT_EQ(board.read(1).value().task_id, 2u);
}

TEST_F(BoardTest, ConcurrentReadsAreNeverTorn) {
  Board board = create(1);
  Writer writer = open_writer(0);
  Reader reader = open_reader();
  std::atomic<bool> started{false};
  std::atomic<bool> done{false};
  std::thread writing([&] {
    for (std::uint64_t n = 1; n <= 50000; ++n) {
      write_counter(writer, n, message_for(n));
      started.store(true, std::memory_order_release);
    }
    done.store(true, std::memory_order_release);
  });
  while (!started.load(std::memory_order_acquire)) std::this_thread::yield();

  std::uint64_t reads = 0, torn = 0, changes = 0, last = 0, backwards = 0;
  while (!done.load(std::memory_order_acquire)) {
    auto record = reader.read(0);
    if (!record) continue;
    ++reads;
    if (!consistent(*record) && ++torn == 1) ADD_FAILURE() << consistent(*record).message();
    if (record->task_id < last) ++backwards;
    if (record->task_id != last) ++changes;
    last = record->task_id;
  }
  writing.join();
  EXPECT_EQ(torn, 0u) << "of " << reads << " reads";
  EXPECT_EQ(backwards, 0u) << "a later read returned an older write";
  EXPECT_GT(changes, 1u) << "the reader never overlapped the writer: the test proved nothing";
}

// Kills the child on every way out of a test, so no writer outlives it.
struct Child {
  pid_t pid;
  ~Child() { reap(); }
  void reap() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

TEST_F(BoardTest, WriterKilledAtRandomPointsNeverTearsOrStalls) {
  Board board = create(1);
  Reader reader = open_reader();
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  int left_mid_write = 0;

  for (int round = 0; round < 50; ++round) {
    int ready[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    Child child{::fork()};
    ASSERT_GE(child.pid, 0);
    if (child.pid == 0) {
      std::string err;
      auto writer = Writer::open(path_, 0, &err);
      if (!writer) ::_exit(1);
      // Messages made up front keep the child inside write() most of the time, where a kill
      // leaves the slot odd.
      const std::uint64_t first = std::uint64_t(round) * 1000 + 1;
      std::string messages[16];
      for (std::uint64_t k = 0; k < 16; ++k) messages[k] = message_for(first + k);
      write_counter(*writer, first, messages[0]);
      if (::write(ready[1], "x", 1) != 1) ::_exit(1);
      for (std::uint64_t k = 1;; ++k) write_counter(*writer, first + k % 16, messages[k % 16]);
    }
    ::close(ready[1]);
    char byte;
    const bool child_wrote = ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
    ASSERT_TRUE(child_wrote) << "the writer child failed to start";

    const int reads_before_kill = std::uniform_int_distribution<int>(0, 1000)(random);
    for (int i = 0; i < reads_before_kill; ++i) {
      if (auto record = reader.read(0)) {
        ASSERT_TRUE(consistent(*record)) << "round " << round;
      }
    }
    child.reap();

    auto after_kill = reader.read(0);
    if (after_kill) {
      ASSERT_TRUE(consistent(*after_kill)) << "round " << round;
    } else {
      ++left_mid_write;
    }
    ASSERT_TRUE(board.reset_slot(0, 7, 1));
    auto reset = reader.read(0);
    ASSERT_TRUE(reset) << "round " << round << ": reset must win over a dead writer";
    EXPECT_EQ(reset->task_id, 7u);
  }
  RecordProperty("rounds_left_mid_write", left_mid_write);
}

}  // namespace
}  // namespace jr::board
