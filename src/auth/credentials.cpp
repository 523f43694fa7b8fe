#include <algorithm>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <borderflow/auth/credentials.h>
#include <borderflow/core/digest.h>

namespace borderflow {

namespace {
constexpr std::string_view kPrefix = "bft_";
constexpr size_t kIdLength = 12;
constexpr size_t kSecretLength = 40;  // 200 bits

// Random::Base32 writes Crockford's alphabet: digits and upper-case letters without I, L, O, U.
bool IsBase32(std::string_view s) {
  constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  for (char c : s) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}
}  // namespace

std::string HashSecret(std::string_view secret) { return Sha256Hex(secret); }

Result<UserRecord> NewUser(std::string name, Role role, std::string company_id, Timestamp now,
                           Random& random, std::string driver_document) {
  if (name.size() < 3 || name.size() > 64) {
    return InvalidArgument("invalid_user_name", "user names have 3 to 64 characters", "name");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidArgument("invalid_user_name",
                             "user names use lower-case letters, digits, '.', '_' and '-'", "name");
    }
  }
  if (role == Role::kSystem) {
    return InvalidArgument("invalid_role", "the system role is internal", "role");
  }
  if (role == Role::kCounterpart) {
    // The other country's node is trusted only through signed link messages, never a token.
    return InvalidArgument("invalid_role",
                           "the counterpart node is not a user: it is trusted only through its "
                           "signed link messages (pin its key in [[counterpart.keys]])",
                           "role");
  }
  Actor probe{"", name, role, company_id};
  if (probe.IsCompanyScoped() && company_id.empty()) {
    return InvalidArgument("missing_company",
                           fmt::format("a {} belongs to a company: give --company", RoleName(role)),
                           "company_id");
  }
  if (!probe.IsCompanyScoped() && !company_id.empty()) {
    return InvalidArgument("unexpected_company",
                           fmt::format("a {} is not scoped to a company", RoleName(role)),
                           "company_id");
  }
  if (company_id.size() > 64) {
    return InvalidArgument("invalid_company", "company ids have at most 64 characters",
                           "company_id");
  }
  // Ids, not names: they appear in URLs, logs, watch lists and the other node's messages.
  auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  auto id_char = [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-' || c == ':'; };
  if (!company_id.empty() &&
      (!alnum(company_id[0]) || !std::all_of(company_id.begin(), company_id.end(), id_char))) {
    return InvalidArgument("invalid_company",
                           "a company id has letters, digits, '.', '_', '-' and ':' and starts "
                           "with a letter or digit (FRUITCO, VN-0101234567)",
                           "company_id");
  }
  if (role == Role::kDriver && driver_document.empty()) {
    return InvalidArgument("missing_driver_document",
                           "a driver sees only the crossings that name them: give "
                           "--driver-document, the passport or border-pass number that "
                           "declarations give as driver.document_number",
                           "driver_document");
  }
  if (role != Role::kDriver && !driver_document.empty()) {
    return InvalidArgument("unexpected_driver_document",
                           fmt::format("a {} is not a driver", RoleName(role)), "driver_document");
  }
  // The same bounds as a declaration's driver.document_number, which it must equal.
  if (driver_document.size() > 32 ||
      std::any_of(driver_document.begin(), driver_document.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return InvalidArgument("invalid_driver_document",
                           "a driver's document number has at most 32 characters and no control "
                           "characters",
                           "driver_document");
  }
  return UserRecord{"U" + random.Base32(16),   std::move(name), role, std::move(company_id), now,
                    std::move(driver_document)};
}

IssuedToken IssueToken(const UserRecord& user, std::string label,
                       std::optional<Timestamp> expires_at, Timestamp now, Random& random) {
  std::string id = random.Base32(kIdLength);
  std::string secret = random.Base32(kSecretLength);
  TokenRecord record{id, user.id, HashSecret(secret), std::move(label), now, expires_at, {}};
  return IssuedToken{fmt::format("{}{}.{}", kPrefix, id, secret), std::move(record)};
}

Result<TokenParts> ParseToken(std::string_view token) {
  auto bad = [] {
    return Error(ErrorKind::kUnauthenticated, "invalid_token",
                 "the bearer token is malformed, unknown, expired or revoked");
  };
  if (!token.starts_with(kPrefix) ||
      token.size() != kPrefix.size() + kIdLength + 1 + kSecretLength) {
    return bad();
  }
  token.remove_prefix(kPrefix.size());
  std::string_view id = token.substr(0, kIdLength);
  if (token[kIdLength] != '.') return bad();
  std::string_view secret = token.substr(kIdLength + 1);
  if (!IsBase32(id) || !IsBase32(secret)) return bad();
  return TokenParts{std::string(id), std::string(secret)};
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool TokenMatches(const TokenRecord& record, std::string_view secret, Timestamp now) {
  bool equal = ConstantTimeEquals(HashSecret(secret), record.secret_hash);
  if (!equal) return false;
  if (record.revoked_at) return false;
  if (record.expires_at && *record.expires_at <= now) return false;
  return true;
}

}  // namespace borderflow
