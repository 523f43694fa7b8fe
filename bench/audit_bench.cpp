// The audit hash: records hashed per second by AuditHash (Sha256Stream: small pieces gathered
// in a buffer, the thread's OpenSSL context reused), side by side in one run with the way it was
// done before 2026-11-30 (an OpenSSL context set up per record and each of a record's ~36
// pieces passed to it on its own). Both must give the same hash.

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <borderflow/audit/audit_record.h>

namespace borderflow {
namespace {

// AuditHash as it was computed before: one EVP context per record, one update per piece.
std::string HashWithContextPerRecord(const AuditRecord& r) {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex2(ctx, md, nullptr);
  auto update = [&](std::string_view bytes) { EVP_DigestUpdate(ctx, bytes.data(), bytes.size()); };
  auto put = [&](std::string_view field) {
    char length[24];
    auto [end, ec] = std::to_chars(length, length + sizeof length, field.size());
    update(std::string_view(length, end - length));
    update(":");
    update(field);
    update(";");
  };
  auto put_number = [&](int64_t n) {
    char text[24];
    auto [end, ec] = std::to_chars(text, text + sizeof text, n);
    put(std::string_view(text, end - text));
  };
  update("borderflow-audit-v1;");
  put_number(r.seq);
  put_number(ToUnixMillis(r.at));
  for (const std::string* field : {&r.actor_id, &r.actor_role, &r.subject_type, &r.subject_id,
                                   &r.action, &r.body, &r.prev_hash}) {
    put(*field);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(length * 2, '\0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
  return hex;
}

AuditRecord Record(size_t body_bytes) {
  AuditRecord r;
  r.seq = 1234567;
  r.at = FromUnixMillis(1'796'000'000'000);
  r.actor_id = "U0000000000000007";
  r.actor_role = "customs_officer";
  r.subject_type = "crossing";
  r.subject_id = "CR-01JD3Z8Q5V7W9X";
  r.action = "record_inspection";
  r.body = std::string(body_bytes, 'x');
  r.prev_hash = std::string(64, 'a');
  return r;
}

// Mean microseconds per record over `n` records (the seq changes so no two are alike).
template <class Hash>
double MicrosPerRecord(AuditRecord r, int n, Hash hash) {
  size_t sink = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    r.seq = i;
    sink += static_cast<unsigned char>(hash(r)[0]);
  }
  double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      n;
  if (sink == 1) std::puts("");  // keeps the loop
  return us;
}

}  // namespace
}  // namespace borderflow

int main(int argc, char** argv) {
  using namespace borderflow;
  CLI::App app{"borderflow audit hash benchmark"};
  int records = 200000;
  int rounds = 3;
  std::vector<size_t> bodies = {200, 1500};
  app.add_option("--records", records, "records hashed per measurement")->capture_default_str();
  app.add_option("--rounds", rounds, "alternating rounds of the two ways")->capture_default_str();
  app.add_option("--body-bytes", bodies, "audit record body sizes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::cout << "| body | context per record (before) | AuditHash (now) | ratio |\n"
               "|---:|---:|---:|---:|\n";
  for (size_t bytes : bodies) {
    AuditRecord r = Record(bytes);
    if (AuditHash(r) != HashWithContextPerRecord(r)) {
      std::cerr << "the two ways give different hashes\n";
      return 1;
    }
    double before = 0, now = 0;
    for (int i = 0; i < rounds; ++i) {
      before += MicrosPerRecord(r, records, HashWithContextPerRecord);
      now += MicrosPerRecord(r, records, [](const AuditRecord& x) { return AuditHash(x); });
    }
    std::cout << fmt::format("| {} bytes | {:.2f} µs | {:.2f} µs | {:.2f}x |\n", bytes,
                             before / rounds, now / rounds, before / now);
  }
  return 0;
}
