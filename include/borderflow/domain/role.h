#pragma once

// The roles of BRIEF.md ("Who uses it"), plus `sensor` for cameras, weighbridges and e-seal
// readers, which post events with their own tokens, and `system` for the engine's own timers.

#include <string>
#include <string_view>

#include <borderflow/core/error.h>

namespace borderflow {

#define BORDERFLOW_ROLES(X)                   \
  X(kForwarder, "forwarder")                  \
  X(kDriver, "driver")                        \
  X(kGateOperator, "gate_operator")           \
  X(kCustomsOfficer, "customs_officer")       \
  X(kQuarantineOfficer, "quarantine_officer") \
  X(kBorderGuard, "border_guard")             \
  X(kCounterpart, "counterpart")              \
  X(kPublic, "public")                        \
  X(kAdministrator, "administrator")          \
  X(kSensor, "sensor")                        \
  X(kSystem, "system")

enum class Role {
#define BORDERFLOW_ROLE_ENUM(name, text) name,
  BORDERFLOW_ROLES(BORDERFLOW_ROLE_ENUM)
#undef BORDERFLOW_ROLE_ENUM
};

std::string_view RoleName(Role role);
// The gate's own people (operators, customs and quarantine officers, border guards,
// administrators) and the system: they see every crossing, not one company's.
bool IsStaff(Role role);
// Errors: "unknown_role" listing the valid names.
Result<Role> ParseRole(std::string_view text);

// Who sends a command: a user (or device) with a role and, for forwarders and drivers, the
// company whose crossings they may see.
struct Actor {
  std::string user_id;    // "u_..." or "system"
  std::string user_name;  // login name, for audit readability
  Role role = Role::kPublic;
  std::string company_id;  // empty unless the role is company-scoped
  // Drivers: the document number (passport or border pass) their company's declarations name
  // them by. A driver sees only those crossings: their own truck, not their colleagues'.
  std::string driver_document = {};

  // Forwarders and drivers see only their own company's crossings.
  bool IsCompanyScoped() const { return role == Role::kForwarder || role == Role::kDriver; }
  static Actor System() { return Actor{"system", "system", Role::kSystem, ""}; }
};

}  // namespace borderflow
