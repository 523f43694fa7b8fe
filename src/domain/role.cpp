#include <fmt/format.h>

#include <borderflow/domain/role.h>

namespace borderflow {

bool IsStaff(Role role) {
  switch (role) {
    case Role::kGateOperator:
    case Role::kCustomsOfficer:
    case Role::kQuarantineOfficer:
    case Role::kBorderGuard:
    case Role::kAdministrator:
    case Role::kSystem:
      return true;
    default:
      return false;
  }
}

std::string_view RoleName(Role role) {
  switch (role) {
#define BORDERFLOW_ROLE_NAME(name, text) \
  case Role::name:                       \
    return text;
    BORDERFLOW_ROLES(BORDERFLOW_ROLE_NAME)
#undef BORDERFLOW_ROLE_NAME
  }
  return "public";
}

Result<Role> ParseRole(std::string_view text) {
#define BORDERFLOW_ROLE_PARSE(name, str) \
  if (text == str) return Role::name;
  BORDERFLOW_ROLES(BORDERFLOW_ROLE_PARSE)
#undef BORDERFLOW_ROLE_PARSE
  std::string valid;
#define BORDERFLOW_ROLE_LIST(name, str) valid += valid.empty() ? str : ", " str;
  BORDERFLOW_ROLES(BORDERFLOW_ROLE_LIST)
#undef BORDERFLOW_ROLE_LIST
  return InvalidArgument(
      "unknown_role", fmt::format("unknown role '{}'; valid roles: {}", text.substr(0, 32), valid),
      "role");
}

}  // namespace borderflow
