// A Monte Carlo estimate of pi that checkpoints through jr's C++ SDK.
//
//   monte_carlo SEED SAMPLES EVERY
// draws SAMPLES points from a generator seeded with SEED and saves its state (the generator
// included) every EVERY samples. Interrupted and resumed by jr any number of times, it prints
// exactly what an uninterrupted run prints, because the generator's state is part of the
// checkpoint. It also appends "resumed at N" to stderr on every resumed attempt.
#include <cereal/types/string.hpp>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>

#include "jr/checkpoint.hpp"

struct State {
  std::uint64_t done = 0;
  std::uint64_t inside = 0;
  std::string rng;  // std::mt19937_64 in its textual form, which the standard defines exactly

  template <class Archive>
  void serialize(Archive& ar) {
    ar(done, inside, rng);
  }
};

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: monte_carlo SEED SAMPLES EVERY\n");
    return 2;
  }
  std::uint64_t seed = std::strtoull(argv[1], nullptr, 10);
  std::uint64_t samples = std::strtoull(argv[2], nullptr, 10);
  std::uint64_t every = std::strtoull(argv[3], nullptr, 10);
  std::mt19937_64 rng(seed);
  State s = jr::load_checkpoint<State>().value_or(State{});
  if (!s.rng.empty()) {
    std::istringstream(s.rng) >> rng;
    std::fprintf(stderr, "resumed at %" PRIu64 "\n", s.done);
  }
  // Outside jr there is nowhere to save to: just compute.
  bool under_jr = std::getenv("JR_RUN") != nullptr;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  while (s.done < samples) {
    double x = unit(rng), y = unit(rng);
    s.inside += x * x + y * y <= 1.0;
    ++s.done;
    if (under_jr && s.done % every == 0 && s.done < samples) {
      std::ostringstream out;
      out << rng;
      s.rng = out.str();
      std::string error;
      if (!jr::save_checkpoint(s, &error)) {
        std::fprintf(stderr, "checkpoint failed: %s\n", error.c_str());
        return 1;
      }
    }
  }
  std::printf("seed %" PRIu64 ": pi ~ %.10f (%" PRIu64 " of %" PRIu64 ")\n", seed,
              4.0 * static_cast<double>(s.inside) / static_cast<double>(samples), s.inside, samples);
  return 0;
}
