// Keeps docs/openapi.yaml true to the code, without a YAML library:
//  * every operation documented under `paths:` is routed by the API's router to exactly that
//    pattern, and no other method is routed on a documented path;
//  * every `router.Add("METHOD", "PATH", ...)` in src/api/api.cpp is documented;
//  * every stable error code the API can return (read from the sources with a regex) appears in
//    the document.
// The YAML is read by indentation: paths are the lines `  /...:` of the top-level `paths:`
// section, their operations the lines `    get:`, `    post:` and so on below them.

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <borderflow/api/api.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

using Route = std::pair<std::string, std::string>;  // method (upper case), path pattern

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(BORDERFLOW_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << relative;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string Show(const Route& r) { return r.first + " " + r.second; }

// The operations of the document's `paths:` section.
std::set<Route> DocumentedRoutes(const std::string& yaml) {
  static const std::regex kTopLevel(R"(^[^\s#])");
  static const std::regex kPathKey(R"(^  (/[^:\s]*):\s*(#.*)?$)");
  static const std::regex kOtherKey(R"(^  \S)");
  static const std::regex kMethodKey(
      R"(^    (get|put|post|delete|patch|head|options|trace):\s*(#.*)?$)");
  std::set<Route> out;
  std::istringstream in(yaml);
  std::string line;
  std::string path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::smatch m;
    if (std::regex_search(line, kTopLevel)) {
      in_paths = line.rfind("paths:", 0) == 0;
      path.clear();
    } else if (!in_paths) {
      continue;
    } else if (std::regex_match(line, m, kPathKey)) {
      path = m[1];
    } else if (std::regex_search(line, kOtherKey)) {
      path.clear();  // a two-space key that is not a path: nothing below it is an operation
    } else if (std::regex_match(line, m, kMethodKey) && !path.empty()) {
      out.insert({Upper(m[1]), path});
    }
  }
  return out;
}

// The routes registered in src/api/api.cpp: router.Add("METHOD", "PATH", ...).
std::set<Route> CodeRoutes(const std::string& source) {
  static const std::regex kAdd(R"re(router\.Add\(\s*"([A-Za-z]+)"\s*,\s*"([^"]*)")re");
  std::set<Route> out;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), kAdd);
       it != std::sregex_iterator(); ++it) {
    out.insert({Upper((*it)[1]), (*it)[2]});
  }
  return out;
}

// The first group of every match of `patterns` in `source`.
std::set<std::string> Matches(const std::string& source, const std::vector<std::regex>& patterns) {
  std::set<std::string> out;
  for (const std::regex& re : patterns) {
    for (auto it = std::sregex_iterator(source.begin(), source.end(), re);
         it != std::sregex_iterator(); ++it) {
      out.insert((*it)[1]);
    }
  }
  return out;
}

// Error codes passed as string literals to the error constructors in `source`:
// InvalidArgument("code", ...), NotFound(...), Conflict(...), Unavailable(...) and
// Error(ErrorKind::kX, "code", ...).
std::set<std::string> ErrorCodes(const std::string& source) {
  static const std::vector<std::regex> kPatterns = {
      std::regex(R"re(\b(?:InvalidArgument|NotFound|Conflict|Unavailable)\(\s*"([a-z_]+)")re"),
      std::regex(R"re(\bError\(\s*ErrorKind::k[A-Za-z]+\s*,\s*"([a-z_]+)")re"),
  };
  return Matches(source, kPatterns);
}

// Codes of the errors the HTTP server answers itself: MakeError(status, "code", ...). (Its other
// errors, such as "listen_failed", are start-up failures, never responses.)
std::set<std::string> ServerErrorCodes(const std::string& source) {
  static const std::vector<std::regex> kPatterns = {
      std::regex(R"re(\bMakeError\(\s*\d+\s*,\s*"([a-z_]+)")re"),
  };
  return Matches(source, kPatterns);
}

// Whether `word` occurs in `text` with no identifier character ([a-z0-9_]) on either side.
bool ContainsWord(const std::string& text, const std::string& word) {
  auto is_ident = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  };
  for (size_t pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
    bool left = pos == 0 || !is_ident(text[pos - 1]);
    bool right = pos + word.size() == text.size() || !is_ident(text[pos + word.size()]);
    if (left && right) return true;
  }
  return false;
}

std::string OpenApiYaml() { return ReadSourceFile("docs/openapi.yaml"); }

TEST(OpenApi, ReadsTheDocumentedOperations) {
  std::set<Route> documented = DocumentedRoutes(OpenApiYaml());
  // The scanner itself works: a few operations every version of the API has.
  EXPECT_TRUE(documented.contains({"GET", "/healthz"}));
  EXPECT_TRUE(documented.contains({"GET", "/"}));
  EXPECT_TRUE(documented.contains({"POST", "/api/v1/crossings/{id}/events"}));
  EXPECT_GE(documented.size(), 10u);
}

TEST(OpenApi, EveryDocumentedOperationIsRoutedToItsPattern) {
  std::set<Route> documented = DocumentedRoutes(OpenApiYaml());
  ASSERT_FALSE(documented.empty());
  TestNode node;
  api::Api api(node.runtime().engine(), node.runtime().store());
  net::Router router = api.Routes();
  static const std::regex kParam(R"(\{[^}/]+\})");
  std::set<std::string> paths;
  for (const auto& [method, path] : documented) {
    paths.insert(path);
    std::string probe = std::regex_replace(path, kParam, "x");
    net::Router::Match match = router.Find(method, probe);
    if (match.handler == nullptr) {
      ADD_FAILURE() << Show({method, path}) << " is in docs/openapi.yaml but not routed ("
                    << match.status << ")";
      continue;
    }
    EXPECT_EQ(match.pattern, path) << method << " " << probe << " is routed to another pattern";
  }
  // The other way round on documented paths: a method the router serves there is documented.
  for (const std::string& path : paths) {
    std::string probe = std::regex_replace(path, kParam, "x");
    for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
      net::Router::Match match = router.Find(method, probe);
      if (match.handler == nullptr || match.pattern != path) continue;
      // HEAD is GET without the body wherever GET is (RFC 9110; said once in the document).
      if (std::string_view(method) == "HEAD" && documented.contains({"GET", path})) continue;
      EXPECT_TRUE(documented.contains({method, path}))
          << method << " " << path << " is routed but not documented in docs/openapi.yaml";
    }
  }
}

TEST(OpenApi, EveryRouteInTheCodeIsDocumented) {
  std::set<Route> documented = DocumentedRoutes(OpenApiYaml());
  std::set<Route> code = CodeRoutes(ReadSourceFile("src/api/api.cpp"));
  ASSERT_GE(code.size(), 10u) << "the router.Add(...) scan of src/api/api.cpp found too little";
  for (const Route& r : code) {
    EXPECT_TRUE(documented.contains(r))
        << Show(r) << " is routed in src/api/api.cpp but not documented in docs/openapi.yaml";
  }
  for (const Route& r : documented) {
    EXPECT_TRUE(code.contains(r))
        << Show(r) << " is documented in docs/openapi.yaml but not routed in src/api/api.cpp";
  }
}

TEST(OpenApi, EveryErrorCodeIsDocumented) {
  const std::string yaml = OpenApiYaml();
  // Where the codes a client of the HTTP API can meet are made.
  const std::vector<std::string> sources = {
      "src/engine/engine.cpp",       "src/domain/lifecycle.cpp",     "src/api/api.cpp",
      "src/domain/crossing.cpp",     "src/domain/crossing_json.cpp", "src/core/json.cpp",
      "src/net/http_server.cpp",     "src/engine/engine_queue.cpp",  "src/queue/capacity.cpp",
      "src/engine/engine_rules.cpp", "src/api/live_feed.cpp",
  };
  std::set<std::string> all;
  for (const std::string& file : sources) {
    const std::string text = ReadSourceFile(file);
    std::set<std::string> codes =
        file == "src/net/http_server.cpp" ? ServerErrorCodes(text) : ErrorCodes(text);
    EXPECT_FALSE(codes.empty()) << "no error codes found in " << file;
    for (const std::string& code : codes) {
      all.insert(code);
      EXPECT_TRUE(ContainsWord(yaml, code))
          << "error code '" << code << "' (" << file << ") is not in docs/openapi.yaml";
    }
  }
  // The scan itself works: codes that must be among them.
  for (const char* code :
       {"idempotency_key_reused", "version_conflict", "crossing_not_found", "role_not_allowed",
        "invalid_transition", "inspection_required", "finding_unresolved", "malformed_json",
        "unknown_field", "method_not_allowed", "slot_full", "no_call_room",
        "invalid_capacity_change"}) {
    EXPECT_TRUE(all.contains(code)) << "the source scan missed '" << code << "'";
  }
}

// Codes the peer protocol's sources can give: the error constructors (ErrorCodes, and a named
// Error(...)), the refusal counters (CountRejection("replay")), and the codes the sender puts
// in a dead message itself ({..., "envelope_too_large", fmt::format(...)} and
// std::string("payload_too_large")).
std::set<std::string> PeerCodes(const std::string& source) {
  static const std::vector<std::regex> kPatterns = {
      std::regex(R"re(\bError\s+[a-z_]+\(\s*ErrorKind::k[A-Za-z]+\s*,\s*"([a-z_]+)")re"),
      std::regex(R"re(\bCount(?:Rejection|Unauthenticated)\(\s*"([a-z_]+)")re"),
      std::regex(R"re(\bstd::string\(\s*"([a-z]+_[a-z_]+)"\s*\))re"),
      std::regex(R"re(push_back\(\s*\{[^{};]*?,\s*"([a-z]+_[a-z_]+)"\s*,\s*fmt::format)re"),
  };
  std::set<std::string> out = ErrorCodes(source);
  out.merge(Matches(source, kPatterns));
  return out;
}

// The rows of the table under "### Codes of the peer protocol" in docs/architecture.md: each
// code in backticks in a row's first cell, with the row's last cell (what the sender does).
std::map<std::string, std::string> PeerCodeTable(const std::string& markdown) {
  static const std::regex kCode(R"(`([a-z_]+)`)");
  std::map<std::string, std::string> out;
  std::istringstream in(markdown);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) {
      in_section = line == "### Codes of the peer protocol";
      continue;
    }
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const size_t first_end = line.find(" |", 2);
    const size_t last_start = line.rfind(" | ");
    if (first_end == std::string::npos || last_start == std::string::npos) continue;
    const std::string first = line.substr(2, first_end - 2);
    std::string last = line.substr(last_start + 3);
    if (!last.empty() && last.back() == '|') last.pop_back();
    for (auto it = std::sregex_iterator(first.begin(), first.end(), kCode);
         it != std::sregex_iterator(); ++it) {
      out[(*it)[1]] = last;
    }
  }
  return out;
}

// The codes the sender retries: the set in Retryable() of src/peer/peer_link.cpp.
std::set<std::string> RetryableCodes(const std::string& source) {
  static const std::regex kSet(R"re(kRetryable\s*=\s*\{([^}]*)\})re");
  static const std::regex kLiteral(R"re("([a-z_]+)")re");
  std::smatch m;
  if (!std::regex_search(source, m, kSet)) return {};
  const std::string list = m[1];
  return Matches(list, {kLiteral});
}

// The peer protocol's codes reach only the peer listener's answers, the acknowledgements and
// the link's status, not /api/v1 problem bodies, so EveryErrorCodeIsDocumented does not scan
// them: they are in their own table, which must hold every code their sources can give.
TEST(PeerProtocolDocs, EveryCodeTheLinkCanGiveIsInTheTable) {
  const std::map<std::string, std::string> table =
      PeerCodeTable(ReadSourceFile("docs/architecture.md"));
  ASSERT_GE(table.size(), 20u) << "the table of the peer protocol's codes was not found";
  const std::vector<std::string> sources = {
      "src/link/envelope.cpp",      "src/link/messages.cpp",  "src/link/node_key.cpp",
      "src/link/node_key_file.cpp", "src/peer/peer_link.cpp", "src/engine/engine_link.cpp",
  };
  std::set<std::string> all;
  for (const std::string& file : sources) {
    const std::set<std::string> codes = PeerCodes(ReadSourceFile(file));
    EXPECT_FALSE(codes.empty()) << "no codes found in " << file;
    for (const std::string& code : codes) {
      all.insert(code);
      EXPECT_TRUE(table.contains(code))
          << "code '" << code << "' (" << file
          << ") is not in the table of the peer protocol's codes in docs/architecture.md";
    }
  }
  // The scan itself works: codes of every kind of place.
  for (const char* code :
       {"malformed_batch", "bad_signature", "unknown_key", "sequence_gap", "wrong_stream",
        "ack_too_large", "bad_ack", "rate_limited", "replay", "envelope_too_large",
        "payload_too_large", "key_file_not_found", "duplicate_lane_class"}) {
    EXPECT_TRUE(all.contains(code)) << "the source scan missed '" << code << "'";
  }
  // What the table says of retries is what the sender does.
  const std::set<std::string> retryable = RetryableCodes(ReadSourceFile("src/peer/peer_link.cpp"));
  ASSERT_GE(retryable.size(), 5u) << "Retryable()'s set was not found in src/peer/peer_link.cpp";
  for (const std::string& code : retryable) {
    auto row = table.find(code);
    if (row == table.end()) {
      ADD_FAILURE() << "the retried code '" << code << "' is not in the table";
      continue;
    }
    EXPECT_EQ(row->second.rfind("yes", 0), 0u)
        << "the table does not say that the sender retries '" << code << "': " << row->second;
  }
}

}  // namespace
}  // namespace borderflow::testing
