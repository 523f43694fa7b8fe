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

}  // namespace borderflow
