#include "engine/state_place.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace jr {
namespace {

constexpr const char* kKey = "engine_place";

std::optional<StatePlace> decode(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  StatePlace p;
  for (auto [field, name] : {std::pair{&p.host, "host"}, {&p.boot_id, "boot_id"}, {&p.dir, "dir"}, {&p.group, "group"}}) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    *field = it->get<std::string>();
  }
  return p;
}

}  // namespace

StatePlace StatePlace::here(const std::filesystem::path& state_dir) {
  StatePlace p;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) p.host = host;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> p.boot_id;
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) == 0) {
    p.dir = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
            std::to_string(static_cast<unsigned long long>(st.st_ino));
  }
  return p;
}

Result<PlaceCheck> check_place(Store& store, const StatePlace& here) {
  auto text = store.meta_value(kKey);
  if (!text) return text.error();
  PlaceCheck check;
  if (text->empty()) return check;
  check.last = decode(*text);
  // A record jr cannot read proves nothing: signal nothing.
  if (!check.last) {
    check.may_signal = false;
    return check;
  }
  check.copied = check.last->dir != here.dir;
  check.may_signal = !check.copied && check.last->host == here.host && check.last->boot_id == here.boot_id;
  if (check.copied) {
    auto tx = store.transaction();
    JR_TRY(tx.begin_status());
    JR_TRY(store.renew_state_id());
    JR_TRY(tx.commit());
  }
  return check;
}

Status record_place(Store& store, const StatePlace& here) {
  nlohmann::json j{{"host", here.host}, {"boot_id", here.boot_id}, {"dir", here.dir}, {"group", here.group}};
  return store.set_meta_value(kKey, j.dump());
}

}  // namespace jr
