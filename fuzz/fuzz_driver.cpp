// A stand-alone driver for the libFuzzer-style targets in this directory, used when they are not
// built with -fsanitize=fuzzer (the default: any compiler, part of the normal test run).
//
// It runs every input of the seed corpus, then a fixed number of deterministic mutations of it
// (xorshift-seeded bit flips, byte inserts and deletes, splices of corpus entries, random bytes,
// truncations). The same binary, seed and iteration count always run the same inputs.
//
//   fuzz_plate                      seed corpus + the default number of mutations
//   fuzz_plate --iterations 1000000 more mutations
//   fuzz_plate --seed 7             another mutation sequence
//   fuzz_plate crash-fuzz_plate-... replay files (or directories) only, no mutations
//
// When an input crashes (signal, sanitizer report, failed FUZZ_CHECK) or hangs (--timeout), it
// is written to crash-<target>-<hash> in the current directory (or --crash-dir) for replay.
// LeakSanitizer reports leaks only at exit; --leak-check-each (ASan builds) checks after every
// input instead, to find the one that leaks.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define BORDERFLOW_FUZZ_HAS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define BORDERFLOW_FUZZ_HAS_SANITIZER 1
#endif
#endif
#ifdef BORDERFLOW_FUZZ_SANITIZED  // set by CMake for -fsanitize builds
#define BORDERFLOW_FUZZ_HAS_SANITIZER 1
#endif
#ifdef BORDERFLOW_FUZZ_HAS_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BORDERFLOW_FUZZ_HAS_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BORDERFLOW_FUZZ_HAS_LSAN 1
#endif
#endif
#ifdef BORDERFLOW_FUZZ_HAS_LSAN
#include <sanitizer/lsan_interface.h>
#endif

// Per target, from the fuzz_<name>_config.cpp that fuzz/CMakeLists.txt generates.
extern "C" const char borderflow_fuzz_target[];                  // "fuzz_plate"
extern "C" const char borderflow_fuzz_corpus_dir[];              // ".../fuzz/corpus/plate"
extern "C" const unsigned long long borderflow_fuzz_iterations;  // default mutation count

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// ---- crash reporting (async-signal-safe parts only use write/open/close) ---------------------

const uint8_t* g_input = nullptr;
size_t g_input_size = 0;
bool g_in_input = false;
volatile sig_atomic_t g_dumped = 0;
char g_crash_dir[1024] = ".";

void WriteStderr(const char* s) {
  ssize_t ignored = write(STDERR_FILENO, s, strlen(s));
  (void)ignored;
}

// Writes the input being run to <crash dir>/crash-<target>-<fnv1a hash>, once.
void DumpCurrentInput() {
  if (!g_in_input || g_dumped) return;
  g_dumped = 1;
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < g_input_size; ++i) {
    hash = (hash ^ g_input[i]) * 0x100000001b3ULL;
  }
  char path[1200];
  size_t n = 0;
  auto append = [&](const char* s) {
    while (*s != '\0' && n + 1 < sizeof path) path[n++] = *s++;
  };
  append(g_crash_dir);
  append("/crash-");
  append(borderflow_fuzz_target);
  append("-");
  char hex[17];
  for (int i = 0; i < 16; ++i) hex[i] = "0123456789abcdef"[(hash >> (60 - 4 * i)) & 0xF];
  hex[16] = '\0';
  append(hex);
  path[n] = '\0';
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    WriteStderr("fuzz_driver: could not write the crashing input\n");
    return;
  }
  size_t done = 0;
  while (done < g_input_size) {
    ssize_t w = write(fd, g_input + done, g_input_size - done);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  close(fd);
  WriteStderr("fuzz_driver: the failing input was written to ");
  WriteStderr(path);
  WriteStderr("\nfuzz_driver: replay it with: ");
  WriteStderr(borderflow_fuzz_target);
  WriteStderr(" ");
  WriteStderr(path);
  WriteStderr("\n");
}

void OnFatalSignal(int sig) {
  if (sig == SIGALRM) WriteStderr("fuzz_driver: timeout: one input ran longer than --timeout\n");
  DumpCurrentInput();
  signal(sig, SIG_DFL);
  raise(sig == SIGALRM ? SIGABRT : sig);
}

void InstallHandlers() {
  std::vector<int> signals = {SIGABRT, SIGALRM};
#ifdef BORDERFLOW_FUZZ_HAS_SANITIZER
  // The sanitizers report SEGV and friends themselves; they call this before dying.
  __sanitizer_set_death_callback(DumpCurrentInput);
#else
  signals.insert(signals.end(), {SIGSEGV, SIGBUS, SIGFPE, SIGILL});
#endif
  for (int sig : signals) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = OnFatalSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, nullptr);
  }
}

bool g_leak_check_each = false;

void RunOne(const std::vector<uint8_t>& input, unsigned timeout_seconds) {
  // An exactly-sized heap copy, so that the sanitizers see any read past the end.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[input.size() + (input.empty() ? 1 : 0)]);
  std::copy(input.begin(), input.end(), copy.get());
  g_input = copy.get();
  g_input_size = input.size();
  g_in_input = true;
  if (timeout_seconds > 0) alarm(timeout_seconds);
  LLVMFuzzerTestOneInput(copy.get(), input.size());
  if (timeout_seconds > 0) alarm(0);
#ifdef BORDERFLOW_FUZZ_HAS_LSAN
  // Slow (a heap scan per input): for finding which input leaks.
  if (g_leak_check_each && __lsan_do_recoverable_leak_check() != 0) {
    WriteStderr("fuzz_driver: this input leaked memory\n");
    DumpCurrentInput();
    std::abort();
  }
#endif
  g_in_input = false;
}

// ---- mutations ----------------------------------------------------------------------------------

class XorShift {
 public:
  explicit XorShift(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL) {
    if (state_ == 0) state_ = 1;
  }
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  // Uniform-ish in [0, n); n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }

 private:
  uint64_t state_;
};

constexpr uint8_t kInterestingBytes[] = {0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x7F, 0x80,
                                         0xBF, 0xC0, 0xE0, 0xF0, 0xFF, '0',  '1',  '9',  '.',
                                         '-',  '+',  ':',  '"',  '\\', '{',  '}',  '[',  ']',
                                         ',',  '=',  'A',  'Z',  'a',  'z',  'T',  'I',  'O'};

// Tokens that matter to several parsers: separators and characters of plates, tricky UTF-8,
// numbers at the limits, JSON and TOML syntax.
constexpr std::string_view kTokens[] = {
    "\xC2\xB7",          // U+00B7 middle dot
    "\xE2\x80\xA2",      // U+2022 bullet
    "\xE6\x8C\x82",      // 挂
    "\xE6\xA1\x82",      // 桂
    "\xE4\xBA\xAC",      // 京
    "\xEF\xBC\x91",      // full-width 1
    "\xF0\x9F\x9A\x9A",  // a 4-byte character
    "\xC0\x80",          // overlong NUL
    "\xED\xA0\x80",      // a surrogate
    "\xE6\x8C",          // a cut 3-byte character
    "\xF4\x90\x80\x80",  // above U+10FFFF
    "\xEF\xBB\xBF",      // BOM
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775808",
    "1e999",
    "-0",
    "0.001",
    "1e-400",
    "4.9e-324",
    "99999999999",
    "null",
    "true",
    "false",
    "\"\"",
    "{}",
    "[]",
    "\\u0000",
    "\\ud800",
    "\\\"",
    "\r\n",
    "T00:00:00Z",
    "+14:00",
    "-14:59",
    "24:00",
    "0000-01-01",
    "9999-12-31",
    "[[",
    "]]",
    "= ",
    "'''",
    "\"\"\"",
    "0x",
    "inf",
    "nan",
    "bft_",
};

class Mutator {
 public:
  Mutator(const std::vector<std::vector<uint8_t>>& corpus, uint64_t seed, size_t max_len)
      : corpus_(corpus), rng_(seed), max_len_(max_len) {}

  std::vector<uint8_t> Next() {
    std::vector<uint8_t> data;
    if (!corpus_.empty() && !rng_.OneIn(32)) data = corpus_[rng_.Below(corpus_.size())];
    size_t rounds = 1 + rng_.Below(rng_.OneIn(4) ? 16 : 4);
    for (size_t i = 0; i < rounds; ++i) MutateOnce(data);
    if (data.size() > max_len_) data.resize(max_len_);
    return data;
  }

 private:
  const std::vector<uint8_t>& Other() { return corpus_[rng_.Below(corpus_.size())]; }

  void InsertAt(std::vector<uint8_t>& data, size_t pos, const uint8_t* begin, size_t n) {
    data.insert(data.begin() + static_cast<ptrdiff_t>(pos), begin, begin + n);
  }

  void MutateOnce(std::vector<uint8_t>& data) {
    size_t op = rng_.Below(14);
    if (data.empty() && op < 8) op = 8 + rng_.Below(3);  // only inserting makes sense
    switch (op) {
      case 0:  // flip one bit
        data[rng_.Below(data.size())] ^= static_cast<uint8_t>(1u << rng_.Below(8));
        break;
      case 1:  // overwrite a byte with a random one
        data[rng_.Below(data.size())] = static_cast<uint8_t>(rng_.Next());
        break;
      case 2:  // overwrite a byte with an interesting one
        data[rng_.Below(data.size())] = kInterestingBytes[rng_.Below(sizeof kInterestingBytes)];
        break;
      case 3: {  // add a small delta to a byte ('3' -> '5', '9' -> ':')
        uint8_t& b = data[rng_.Below(data.size())];
        b = static_cast<uint8_t>(b + static_cast<int>(rng_.Below(7)) - 3);
        break;
      }
      case 4: {  // delete a range
        size_t pos = rng_.Below(data.size());
        size_t n = 1 + rng_.Below(std::min<size_t>(data.size() - pos, rng_.OneIn(4) ? 64 : 4));
        data.erase(data.begin() + static_cast<ptrdiff_t>(pos),
                   data.begin() + static_cast<ptrdiff_t>(pos + n));
        break;
      }
      case 5: {  // duplicate a range somewhere else
        size_t pos = rng_.Below(data.size());
        size_t n = 1 + rng_.Below(std::min<size_t>(data.size() - pos, 32));
        std::vector<uint8_t> chunk(data.begin() + static_cast<ptrdiff_t>(pos),
                                   data.begin() + static_cast<ptrdiff_t>(pos + n));
        InsertAt(data, rng_.Below(data.size() + 1), chunk.data(), chunk.size());
        break;
      }
      case 6:  // truncate
        data.resize(rng_.Below(data.size()));
        break;
      case 7: {  // swap two bytes
        std::swap(data[rng_.Below(data.size())], data[rng_.Below(data.size())]);
        break;
      }
      case 8: {  // insert random bytes
        size_t n = 1 + rng_.Below(4);
        uint8_t bytes[4];
        for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(rng_.Next());
        InsertAt(data, rng_.Below(data.size() + 1), bytes, n);
        break;
      }
      case 9: {  // insert an interesting byte or token
        size_t pos = rng_.Below(data.size() + 1);
        if (rng_.OneIn(2)) {
          uint8_t b = kInterestingBytes[rng_.Below(sizeof kInterestingBytes)];
          InsertAt(data, pos, &b, 1);
        } else {
          std::string_view t = kTokens[rng_.Below(std::size(kTokens))];
          InsertAt(data, pos, reinterpret_cast<const uint8_t*>(t.data()), t.size());
        }
        break;
      }
      case 10: {  // insert a chunk of another corpus entry
        if (corpus_.empty()) break;
        const std::vector<uint8_t>& other = Other();
        if (other.empty()) break;
        size_t from = rng_.Below(other.size());
        size_t n = 1 + rng_.Below(std::min<size_t>(other.size() - from, 64));
        InsertAt(data, rng_.Below(data.size() + 1), other.data() + from, n);
        break;
      }
      case 11: {  // splice: our prefix, another entry's suffix
        if (corpus_.empty()) break;
        const std::vector<uint8_t>& other = Other();
        size_t cut = rng_.Below(data.size() + 1);
        size_t from = rng_.Below(other.size() + 1);
        data.resize(cut);
        data.insert(data.end(), other.begin() + static_cast<ptrdiff_t>(from), other.end());
        break;
      }
      case 12: {  // overwrite a range with one repeated byte
        if (data.empty()) break;
        size_t pos = rng_.Below(data.size());
        size_t n = 1 + rng_.Below(std::min<size_t>(data.size() - pos, 16));
        uint8_t b = rng_.OneIn(2) ? kInterestingBytes[rng_.Below(sizeof kInterestingBytes)]
                                  : static_cast<uint8_t>(rng_.Next());
        std::fill_n(data.begin() + static_cast<ptrdiff_t>(pos), n, b);
        break;
      }
      default: {  // rarely: replace everything with random bytes
        if (!rng_.OneIn(8)) break;
        data.resize(rng_.Below(rng_.OneIn(4) ? 256 : 40));
        for (uint8_t& b : data) b = static_cast<uint8_t>(rng_.Next());
        break;
      }
    }
  }

  const std::vector<std::vector<uint8_t>>& corpus_;
  XorShift rng_;
  size_t max_len_;
};

// ---- command line -------------------------------------------------------------------------------

bool ReadFile(const fs::path& path, std::vector<uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// Files of `path` (itself, or the regular files of a directory in name order).
bool CollectFiles(const fs::path& path, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.is_regular_file(ec)) files.push_back(entry.path());
    }
    if (ec) return false;
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
    return true;
  }
  if (fs::is_regular_file(path, ec)) {
    out.push_back(path);
    return true;
  }
  return false;
}

void Usage() {
  std::fprintf(stderr,
               "usage: %s [--iterations N] [--seed S] [--max-len BYTES] [--timeout SECONDS]\n"
               "       [--crash-dir DIR] [--leak-check-each] [FILE_OR_DIR...]\n"
               "Without FILE_OR_DIR: runs the seed corpus %s, then N mutations (default %llu).\n"
               "With FILE_OR_DIR: runs those inputs, then N mutations of them (default 0).\n",
               borderflow_fuzz_target, borderflow_fuzz_corpus_dir, borderflow_fuzz_iterations);
}

bool ParseNumber(const char* text, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t iterations = borderflow_fuzz_iterations;
  bool iterations_given = false;
  uint64_t seed = 1;
  uint64_t max_len = 4096;
  uint64_t timeout = 60;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](uint64_t& out) {
      if (i + 1 >= argc || !ParseNumber(argv[i + 1], out)) {
        std::fprintf(stderr, "%s: %s needs a non-negative number\n", borderflow_fuzz_target,
                     argv[i]);
        std::exit(2);
      }
      ++i;
    };
    if (arg == "--iterations") {
      value(iterations);
      iterations_given = true;
    } else if (arg == "--seed") {
      value(seed);
    } else if (arg == "--max-len") {
      value(max_len);
    } else if (arg == "--timeout") {
      value(timeout);
    } else if (arg == "--crash-dir" && i + 1 < argc) {
      std::snprintf(g_crash_dir, sizeof g_crash_dir, "%s", argv[++i]);
    } else if (arg == "--leak-check-each") {
      g_leak_check_each = true;
    } else if (arg == "--help" || arg == "-h") {
      Usage();
      return 0;
    } else if (arg.starts_with("-") && arg.find('=') != std::string_view::npos) {
      // A libFuzzer flag (-max_total_time=20, -runs=...): meaningless here.
      std::fprintf(stderr, "%s: ignoring libFuzzer flag %s (this is the plain driver)\n",
                   borderflow_fuzz_target, argv[i]);
    } else if (arg.starts_with("--")) {
      Usage();
      return 2;
    } else {
      paths.emplace_back(arg);
    }
  }
  if (paths.empty()) {
    paths.emplace_back(borderflow_fuzz_corpus_dir);
  } else if (!iterations_given) {
    iterations = 0;  // replaying given inputs
  }

  std::vector<fs::path> files;
  for (const std::string& p : paths) {
    if (p.empty() || !CollectFiles(p, files)) {
      std::fprintf(stderr, "%s: cannot read '%s'\n", borderflow_fuzz_target, p.c_str());
      return 2;
    }
  }
  std::vector<std::vector<uint8_t>> corpus;
  for (const fs::path& f : files) {
    std::vector<uint8_t> data;
    if (!ReadFile(f, data)) {
      std::fprintf(stderr, "%s: cannot read '%s'\n", borderflow_fuzz_target, f.c_str());
      return 2;
    }
    corpus.push_back(std::move(data));
  }
  // Mutations may grow up to --max-len, and never cut a seed that is longer.
  size_t limit = static_cast<size_t>(max_len);
  for (const auto& c : corpus) limit = std::max(limit, c.size());

  InstallHandlers();
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < corpus.size(); ++i) {
    std::fprintf(stderr, "%s: running %s\n", borderflow_fuzz_target, files[i].c_str());
    RunOne(corpus[i], static_cast<unsigned>(timeout));
  }
  Mutator mutator(corpus, seed, limit);
  for (uint64_t i = 0; i < iterations; ++i) {
    RunOne(mutator.Next(), static_cast<unsigned>(timeout));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "%s: %zu inputs from files and %llu mutations (seed %llu) passed in %.2f s\n",
               borderflow_fuzz_target, corpus.size(), static_cast<unsigned long long>(iterations),
               static_cast<unsigned long long>(seed), seconds);
  return 0;
}
