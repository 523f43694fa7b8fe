#pragma once

// Helpers shared by the engine's translation units (engine.cpp, engine_queue.cpp,
// engine_rules.cpp). Not part of the public engine interface.

#include <string>

#include <boost/json/value.hpp>

#include <borderflow/audit/audit_record.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/role.h>

namespace borderflow {

// An audit record about `subject_type`/`subject_id` made by `actor` at `now`.
inline AuditDraft Draft(const Actor& actor, Timestamp now, std::string subject_type,
                        std::string subject_id, std::string action, std::string body) {
  return AuditDraft{now,
                    actor.user_id,
                    std::string(RoleName(actor.role)),
                    std::move(subject_type),
                    std::move(subject_id),
                    std::move(action),
                    std::move(body)};
}

inline AuditDraft Draft(const Actor& actor, Timestamp now, std::string subject_type,
                        std::string subject_id, std::string action,
                        const boost::json::value& body) {
  return Draft(actor, now, std::move(subject_type), std::move(subject_id), std::move(action),
               ToJsonText(body));
}

// The same for an object body (not copied into a boost::json::value first).
inline AuditDraft Draft(const Actor& actor, Timestamp now, std::string subject_type,
                        std::string subject_id, std::string action,
                        const boost::json::object& body) {
  return Draft(actor, now, std::move(subject_type), std::move(subject_id), std::move(action),
               ToJsonText(body));
}

// The audit body of a crossing's event, as text: {"type", "from", "to", "version", "data"} and
// then the members of `why`, a member of `why` with one of the first five names replacing that
// member's value in its place. The same bytes as building that object and writing it with
// ToJsonText, without building it (the twin's season writes one per command).
std::string EventAuditBody(std::string_view type, std::string_view from, std::string_view to,
                           int64_t version, const boost::json::object& data,
                           const boost::json::object& why);

}  // namespace borderflow
