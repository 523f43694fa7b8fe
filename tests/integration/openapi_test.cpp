// Keeps docs/openapi.yaml true to the code, without a YAML library:
//  * every operation documented under `paths:` is routed by the API's router to exactly that
//    pattern, and no other method is routed on a documented path;
//  * every `router.Add("METHOD", "PATH", ...)` in src/api/api.cpp is documented;
//  * every stable error code the API can return (read from the sources with a regex) appears in
//    the document.
// The YAML is read by indentation: paths are the lines `  /...:` of the top-level `paths:`
// section, their operations the lines `    get:`, `    post:` and so on below them.

#include <fstream>
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

}  // namespace
}  // namespace borderflow::testing
