#pragma once

// Users and API tokens. A token is shown once when issued ("bft_<id>.<secret>"); the store keeps
// only the SHA-256 of the secret, looked up by the token id and compared in constant time.

#include <optional>
#include <string>

#include <borderflow/core/error.h>
#include <borderflow/core/random.h>
#include <borderflow/core/time.h>
#include <borderflow/domain/role.h>

namespace borderflow {

struct UserRecord {
  std::string id;    // "U" + 16 base32 characters
  std::string name;  // unique login name
  Role role = Role::kPublic;
  std::string company_id;  // required for forwarders and drivers, empty otherwise
  Timestamp created_at;
  // Drivers only (required): the passport or border-pass number that declarations name in
  // `driver.document_number`. A driver sees only the crossings that name them.
  std::string driver_document = {};

  Actor ToActor() const { return Actor{id, name, role, company_id, driver_document}; }
};

struct TokenRecord {
  std::string id;  // public part of the token
  std::string user_id;
  std::string secret_hash;  // hex SHA-256 of the secret
  std::string label;
  Timestamp created_at;
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> revoked_at;
};

// A freshly issued token: `token` is shown to the user once; `record` is stored.
struct IssuedToken {
  std::string token;
  TokenRecord record;
};

// Validates a new user: name of 3..64 characters [a-z0-9._-], company required exactly for
// company-scoped roles, a document number exactly for drivers, no user may have the internal
// `system` role.
Result<UserRecord> NewUser(std::string name, Role role, std::string company_id, Timestamp now,
                           Random& random, std::string driver_document = {});

IssuedToken IssueToken(const UserRecord& user, std::string label,
                       std::optional<Timestamp> expires_at, Timestamp now, Random& random);

struct TokenParts {
  std::string id;
  std::string secret;
};
// Splits "bft_<id>.<secret>"; errors (code "invalid_token", kUnauthenticated) never echo it.
Result<TokenParts> ParseToken(std::string_view token);

// Whether `secret` matches the stored record at `now` (not revoked, not expired).
bool TokenMatches(const TokenRecord& record, std::string_view secret, Timestamp now);

std::string HashSecret(std::string_view secret);

// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace borderflow
