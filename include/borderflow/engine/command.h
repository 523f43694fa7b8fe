#pragma once

// Commands: what every driver (HTTP API, CLI, simulator, peer link, timers) asks the engine to
// do. A command names its actor, carries the client's idempotency key and a fingerprint of its
// content, and one of the bodies below.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/audit/audit_record.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/lifecycle.h>
#include <borderflow/domain/role.h>

namespace borderflow {

// A forwarder pre-declares a crossing for its own company.
struct DeclareCrossing {
  Declaration declaration;
};

// An event in a crossing's lifecycle (assess, book, enter_yard, ..., cancel).
struct RecordCrossingEvent {
  std::string crossing_id;
  CrossingEvent event;
  // When set, the command applies only if the crossing is still at this version (If-Match).
  std::optional<int64_t> expected_version;
};

// Administration (CLI): users and tokens.
struct AddUser {
  std::string name;
  Role role = Role::kPublic;
  std::string company_id;
};
struct IssueApiToken {
  std::string user_name;
  std::string label;
  std::optional<Timestamp> expires_at;
};
struct RevokeApiToken {
  std::string token_id;
};

using CommandBody =
    std::variant<DeclareCrossing, RecordCrossingEvent, AddUser, IssueApiToken, RevokeApiToken>;

struct Command {
  Actor actor;
  // The client's key: a retry with the same key (by the same user) returns the first result
  // and records nothing. Required for crossing commands; optional for administration.
  std::string idempotency_key;
  // A digest of the command's content (e.g. SHA-256 of method, path and body): the same key
  // with a different fingerprint is refused ("idempotency_key_reused").
  std::string fingerprint;
  CommandBody body;
};

struct CommandResult {
  int status = 200;                  // 201 when something was created
  boost::json::object body;          // the response document
  std::string body_text;             // the same, serialised once (what the API sends and replays)
  bool replayed = false;             // true when this is the stored first result of a retry
  std::vector<AuditRecord> records;  // what this command appended (empty when replayed)
  std::optional<Crossing> crossing;  // the crossing after a crossing command (not on replays)
};

}  // namespace borderflow
