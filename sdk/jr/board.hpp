// The progress board: DIR/board, a file that running tasks, the engine, `jr top` and
// `jr status` map with Boost.Interprocess, holding one fixed-size slot per worker slot.
//
// A task writes only its own slot (JR_BOARD and JR_SLOT in its environment name the file and
// the 1-based slot); the engine creates the board and resets a slot before giving it to the next
// task; readers read every slot. A Writer maps the file once; each write after that is plain
// memory stores (the wall clock comes from the vDSO), no system call, no round trip.
//
// Layout, version 1, native byte order (the board never leaves the node):
//   header, 64 bytes: char magic[8] "JRBOARD\0" | u32 layout version | u32 slot count |
//                     u32 engine pid | u32 slot size (256) | 40 bytes of zero
//   slot i, 256 bytes at offset 64 + 256 * i, 32 u64 words:
//     seq | task id | attempt | fraction (bits of an IEEE-754 double; < 0 = unknown) |
//     updated (i64 ms since the Unix epoch) | message (160 bytes, NUL-padded) | 7 words of zero
//   seq is 0 while the slot was never written, odd while a write is in progress, even when the
//   slot is stable. Every word of a slot is only ever accessed atomically (a seqlock).
//
// Crash behaviour. No mutex lives in the file, so no process can block another:
//   - A writer killed mid-write leaves seq odd. Readers retry kRetries times, then report the
//     slot unreadable (nullopt) until it is written again; a later writer of the slot waits as
//     long, then takes it over; Board::reset_slot takes it over at once. (So two processes
//     of one task writing one slot at once are safe, unless one stalls mid-write past that
//     bound: its late stores may then mix into the other's record.)
//   - Board::create writes a new file and renames it over DIR/board, so a reader still mapping
//     the old file never faults (no SIGBUS from a shrunk file); it reads the old engine's board,
//     so reopen when engine_pid() is gone. The board is not durable: the engine copies what it
//     keeps into the store.
// Errors are values (nullopt plus a line in *err); no Boost exception leaves this header.
// One thread uses a Writer, Board or Reader object at a time; any number of processes may map.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

namespace jr::board {

inline constexpr std::uint32_t kLayoutVersion = 1;
inline constexpr std::size_t kHeaderBytes = 64;
inline constexpr std::size_t kSlotBytes = 256;
inline constexpr std::size_t kMessageBytes = 160;
inline constexpr std::uint32_t kMaxSlots = 1u << 16;
// How often a reader re-reads a slot that is being written (a whole write takes ~40 ns), and
// how long a writer waits before taking over a slot left odd: spinning on one cached word,
// about a microsecond, never a hang.
inline constexpr int kRetries = 1024;

struct SlotRecord {
  std::uint64_t task_id = 0;
  std::uint32_t attempt = 0;
  double fraction = -1;                // 0..1, or < 0 when unknown
  std::int64_t updated_ms = 0;         // wall clock, ms since the Unix epoch
  char message[kMessageBytes] = {};    // always NUL-terminated
};

namespace detail {

inline constexpr char kMagic[8] = {'J', 'R', 'B', 'O', 'A', 'R', 'D', '\0'};

struct Header {
  char magic[8];
  std::uint32_t version, slot_count, engine_pid, slot_bytes;
  unsigned char reserved[40];
};
static_assert(sizeof(Header) == kHeaderBytes && std::is_standard_layout_v<Header>);

struct Slot {
  std::uint64_t seq, task_id, attempt, fraction_bits, updated_ms;
  std::uint64_t message[kMessageBytes / 8];
  std::uint64_t reserved[7];
};
static_assert(sizeof(Slot) == kSlotBytes && std::is_standard_layout_v<Slot>);
static_assert(offsetof(Slot, message) == 40);
// Processes share these words, so the atomics must be lock-free (address-free), not emulated
// with a lock table private to each process.
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(alignof(std::uint64_t) >= std::atomic_ref<std::uint64_t>::required_alignment);

// Memory orders: payload words are release stores and acquire loads rather than relaxed ones
// between std::atomic_thread_fence calls. On x86-64 both compile to plain moves; on ARM they
// cost a few cycles per word; and ThreadSanitizer, which does not model fences, can check them.
//   writer: CAS seq even -> odd (acq_rel); payload stores (release); CAS seq odd -> even (release)
//   reader: seq s1 (acquire); payload loads (acquire); seq s2 (relaxed); keep if s1 == s2, even
// A payload load that sees a store of a write makes that write's odd seq visible to the s2 load,
// so a record mixing two writes is always rejected.
inline std::uint64_t load(const std::uint64_t& word, std::memory_order order) {
  // Readers map the file read-only: an 8-byte lock-free atomic load is a plain load, no write.
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(word)).load(order);
}

inline void store(std::uint64_t& word, std::uint64_t value) {
  std::atomic_ref<std::uint64_t>(word).store(value, std::memory_order_release);
}

// Marks a write in progress and returns its odd seq. An odd seq that stays odd for `patience`
// looks means its writer died: the slot is taken over with a higher odd seq.
inline std::uint64_t begin_write(Slot& slot, int patience) {
  std::atomic_ref<std::uint64_t> seq(slot.seq);
  std::uint64_t seen = seq.load(std::memory_order_relaxed);
  for (int looks = 0;; ++looks) {
    if (seen % 2 == 1 && looks < patience)
      seen = seq.load(std::memory_order_relaxed);
    else if (seq.compare_exchange_weak(seen, (seen + 1) | 1, std::memory_order_acq_rel,
                                       std::memory_order_relaxed))
      return (seen + 1) | 1;
  }
}

// A CAS rather than a store: a stalled writer that was taken over must not move seq backwards,
// where a reader could see an old even value again.
inline void end_write(Slot& slot, std::uint64_t mine) {
  std::atomic_ref<std::uint64_t>(slot.seq).compare_exchange_strong(
      mine, mine + 1, std::memory_order_release, std::memory_order_relaxed);
}

// Bytes of `message` that fit with a NUL, cut before any UTF-8 sequence that would be split,
// so that readers printing it (or putting it in JSON) always get valid text.
inline std::size_t fitting_length(std::string_view message) {
  std::size_t n = message.size() < kMessageBytes ? message.size() : kMessageBytes - 1;
  if (n < message.size())
    while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
  return n;
}

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

inline void write_slot(Slot& slot, std::uint64_t task_id, std::uint32_t attempt, double fraction,
                       std::string_view message, int patience) {
  if (!(fraction >= 0)) fraction = -1;  // NaN too
  if (fraction > 1) fraction = 1;
  std::uint64_t text[kMessageBytes / 8] = {};
  if (const std::size_t n = fitting_length(message); n > 0) std::memcpy(text, message.data(), n);
  const std::int64_t updated = now_ms();

  const std::uint64_t mine = begin_write(slot, patience);
  store(slot.task_id, task_id);
  store(slot.attempt, attempt);
  store(slot.fraction_bits, std::bit_cast<std::uint64_t>(fraction));
  store(slot.updated_ms, static_cast<std::uint64_t>(updated));
  for (std::size_t i = 0; i < kMessageBytes / 8; ++i) store(slot.message[i], text[i]);
  end_write(slot, mine);
}

inline std::optional<SlotRecord> read_slot(const Slot& slot) {
  for (int tries = 0; tries < kRetries; ++tries) {
    const std::uint64_t before = load(slot.seq, std::memory_order_acquire);
    if (before == 0) return std::nullopt;
    if (before % 2 == 1) continue;
    constexpr auto acquire = std::memory_order_acquire;
    SlotRecord record{load(slot.task_id, acquire),
                      static_cast<std::uint32_t>(load(slot.attempt, acquire)),
                      std::bit_cast<double>(load(slot.fraction_bits, acquire)),
                      static_cast<std::int64_t>(load(slot.updated_ms, acquire))};
    std::uint64_t text[kMessageBytes / 8];
    for (std::size_t i = 0; i < kMessageBytes / 8; ++i) text[i] = load(slot.message[i], acquire);
    if (load(slot.seq, std::memory_order_relaxed) != before) continue;
    std::memcpy(record.message, text, kMessageBytes);
    record.message[kMessageBytes - 1] = '\0';
    return record;
  }
  return std::nullopt;
}

template <typename T>
std::optional<T> fail(std::string* err, std::string message) {
  if (err) *err = std::move(message);
  return std::nullopt;
}

// A validated mapping of a whole board file: the header checked, every slot inside the region.
class Mapping {
 public:
  static std::optional<Mapping> open(const std::string& path, bool writable, std::string* err) {
    namespace bip = boost::interprocess;
    const bip::mode_t mode = writable ? bip::read_write : bip::read_only;
    bip::mapped_region region;
    try {
      // The file's descriptor (opened by Boost without O_CLOEXEC) lives only in this scope:
      // the mapping outlives it.
      const bip::file_mapping file(path.c_str(), mode);
      bip::mapped_region mapped(file, mode);
      region.swap(mapped);
    } catch (const bip::interprocess_exception& e) {
      return fail<Mapping>(err, "cannot map progress board " + path + ": " + e.what());
    }
    const std::string board = "progress board " + path;
    if (region.get_size() < kHeaderBytes)
      return fail<Mapping>(err, board + " is too short for its header");
    Header header;
    std::memcpy(&header, region.get_address(), sizeof header);
    if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0)
      return fail<Mapping>(err, path + " is not a jr progress board");
    if (header.version != kLayoutVersion)
      return fail<Mapping>(err, board + " has layout version " + std::to_string(header.version) +
                                    ", this jr reads " + std::to_string(kLayoutVersion));
    if (header.slot_bytes != kSlotBytes || header.slot_count == 0 || header.slot_count > kMaxSlots)
      return fail<Mapping>(err, board + " has a corrupt header");
    if (region.get_size() < kHeaderBytes + std::size_t{header.slot_count} * kSlotBytes)
      return fail<Mapping>(err, board + " is too short for its " +
                                    std::to_string(header.slot_count) + " slots");
    return Mapping(std::move(region), header);
  }

  std::uint32_t slot_count() const { return header_.slot_count; }
  std::uint32_t engine_pid() const { return header_.engine_pid; }
  Slot* slot(std::uint32_t index) const {
    if (index >= header_.slot_count) return nullptr;
    auto* base = static_cast<unsigned char*>(region_.get_address());
    return reinterpret_cast<Slot*>(base + kHeaderBytes + std::size_t{index} * kSlotBytes);
  }
  std::optional<SlotRecord> read(std::uint32_t index) const {
    const Slot* s = slot(index);
    return s ? read_slot(*s) : std::nullopt;
  }

 private:
  Mapping(boost::interprocess::mapped_region region, const Header& header)
      : region_(std::move(region)), header_(header) {}

  boost::interprocess::mapped_region region_;
  Header header_;
};

inline bool parse_number(const char* text, std::uint64_t* out) {
  if (!text || !*text) return false;
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace detail

// What a task uses: its own slot, mapped once.
class Writer {
 public:
  // slot_index is 0-based (JR_SLOT - 1). Refuses an index outside the board.
  static std::optional<Writer> open(const std::string& path, std::uint32_t slot_index,
                                    std::string* err) {
    auto mapping = detail::Mapping::open(path, /*writable=*/true, err);
    if (!mapping) return std::nullopt;
    if (slot_index >= mapping->slot_count())
      return detail::fail<Writer>(err, "progress slot " + std::to_string(slot_index) +
                                           " is out of range: board " + path + " has " +
                                           std::to_string(mapping->slot_count()) + " slots");
    return Writer(std::move(*mapping), slot_index);
  }

  // The slot and ids jr gives a task: JR_BOARD, JR_SLOT (1-based), JR_TASK_ID, JR_ATTEMPT.
  static std::optional<Writer> from_env(std::string* err) {
    const char* path = std::getenv("JR_BOARD");
    if (!path || !*path) return detail::fail<Writer>(err, "JR_BOARD is not set: not run by jr");
    std::uint64_t slot = 0, task_id = 0, attempt = 0;
    if (!detail::parse_number(std::getenv("JR_SLOT"), &slot) || slot == 0 || slot > kMaxSlots)
      return detail::fail<Writer>(err, "JR_SLOT is not a slot number from 1");
    if (!detail::parse_number(std::getenv("JR_TASK_ID"), &task_id))
      return detail::fail<Writer>(err, "JR_TASK_ID is not a task id");
    if (!detail::parse_number(std::getenv("JR_ATTEMPT"), &attempt) || attempt > UINT32_MAX)
      return detail::fail<Writer>(err, "JR_ATTEMPT is not an attempt number");
    auto writer = open(path, static_cast<std::uint32_t>(slot - 1), err);
    if (writer) {
      writer->task_id_ = task_id;
      writer->attempt_ = static_cast<std::uint32_t>(attempt);
    }
    return writer;
  }

  // fraction in 0..1 (clamped; negative or NaN means unknown); message cut to fit.
  void write(std::uint64_t task_id, std::uint32_t attempt, double fraction,
             std::string_view message) {
    detail::write_slot(*slot_, task_id, attempt, fraction, message, kRetries);
  }
  // With the ids from_env read (zero for a Writer made by open).
  void write(double fraction, std::string_view message) {
    write(task_id_, attempt_, fraction, message);
  }

 private:
  Writer(detail::Mapping mapping, std::uint32_t slot_index)
      : mapping_(std::move(mapping)), slot_(mapping_.slot(slot_index)) {}

  detail::Mapping mapping_;
  detail::Slot* slot_;  // into mapping_'s region, whose address a move keeps
  std::uint64_t task_id_ = 0;
  std::uint32_t attempt_ = 0;
};

// What `jr top` and `jr status` use: every slot, read-only.
class Reader {
 public:
  static std::optional<Reader> open(const std::string& path, std::string* err) {
    auto mapping = detail::Mapping::open(path, /*writable=*/false, err);
    if (!mapping) return std::nullopt;
    return Reader(std::move(*mapping));
  }

  std::uint32_t slot_count() const { return mapping_.slot_count(); }
  std::uint32_t engine_pid() const { return mapping_.engine_pid(); }
  // nullopt: never written, mid-write right now, left mid-write by a killed writer, or
  // slot_index (0-based) out of range.
  std::optional<SlotRecord> read(std::uint32_t slot_index) const {
    return mapping_.read(slot_index);
  }

 private:
  explicit Reader(detail::Mapping mapping) : mapping_(std::move(mapping)) {}
  detail::Mapping mapping_;
};

// What the engine uses: creates the board, hands slots to tasks, reads them.
class Board {
 public:
  // Writes a fresh board (0600, all slots never written) beside `path` and renames it over
  // `path`. Blocks are allocated now, so a store into the mapping cannot fault on a full disk.
  static std::optional<Board> create(const std::string& path, std::uint32_t slot_count,
                                     std::uint32_t engine_pid, std::string* err) {
    if (slot_count == 0 || slot_count > kMaxSlots)
      return detail::fail<Board>(err, "a progress board needs 1 to " +
                                          std::to_string(kMaxSlots) + " slots");
    const std::string temp = path + ".tmp";
    // A new file, never one found under the name (a link, or another file's second name).
    ::unlink(temp.c_str());
    const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
      return detail::fail<Board>(err, "cannot create " + temp + ": " + std::strerror(errno));
    detail::Header header{{}, kLayoutVersion, slot_count, engine_pid, kSlotBytes, {}};
    std::memcpy(header.magic, detail::kMagic, sizeof header.magic);
    const off_t size = static_cast<off_t>(kHeaderBytes + std::size_t{slot_count} * kSlotBytes);
    std::string failure;
    if (::fchmod(fd, 0600) != 0)  // the umask may have taken more than group and other bits
      failure = std::strerror(errno);
    else if (const int rc = ::posix_fallocate(fd, 0, size); rc != 0)
      failure = std::strerror(rc);
    else if (const ssize_t n = ::pwrite(fd, &header, sizeof header, 0); n < 0)
      failure = std::strerror(errno);
    else if (n != static_cast<ssize_t>(sizeof header))
      failure = "short write";
    ::close(fd);
    // Mapped under the name only this call made, then renamed: what is mapped is the file just
    // written, whatever another process puts at `path` meanwhile.
    std::optional<detail::Mapping> mapping;
    if (failure.empty()) {
      std::string map_err;
      mapping = detail::Mapping::open(temp, /*writable=*/true, &map_err);
      if (!mapping) failure = map_err;
    }
    if (failure.empty() && ::rename(temp.c_str(), path.c_str()) != 0)
      failure = std::strerror(errno);
    if (!failure.empty()) {
      ::unlink(temp.c_str());
      return detail::fail<Board>(err, "cannot create progress board " + path + ": " + failure);
    }
    return Board(std::move(*mapping));
  }

  std::uint32_t slot_count() const { return mapping_.slot_count(); }

  // Gives slot_index (0-based) to a task: progress unknown, no message. Takes the slot over
  // even if a killed writer left it mid-write. REQUIRES: the slot's previous task is gone.
  // False if slot_index is out of range.
  bool reset_slot(std::uint32_t slot_index, std::uint64_t task_id, std::uint32_t attempt) {
    detail::Slot* slot = mapping_.slot(slot_index);
    if (!slot) return false;
    detail::write_slot(*slot, task_id, attempt, -1, {}, /*patience=*/0);
    return true;
  }

  std::optional<SlotRecord> read(std::uint32_t slot_index) const {
    return mapping_.read(slot_index);
  }

 private:
  explicit Board(detail::Mapping mapping) : mapping_(std::move(mapping)) {}
  detail::Mapping mapping_;
};

}  // namespace jr::board
