// Router and HttpRequest accessors (no Beast here: this file compiles quickly).
//
// Matching rules:
//  * a path is split on '/' after its leading '/': "/a/b" -> {"a", "b"}, "/" -> {""};
//    "/a/" -> {"a", ""} so a trailing slash is significant;
//  * a literal segment matches itself exactly (case-sensitive);
//  * "{name}" matches any non-empty segment and captures it as param "name";
//  * a trailing "*" segment matches the rest of the path (zero or more segments) and captures
//    it, without its leading '/', as param "*";
//  * when several routes match the path, the most specific wins, segment by segment:
//    literal > {param} > *; among equals, the first registered wins.
//  * methods are compared exactly ("HEAD" does not match a "GET" route).

#include <algorithm>
#include <cctype>

#include <borderflow/net/http.h>

namespace borderflow::net {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    if (slash == std::string_view::npos) {
      out.push_back(path);
      break;
    }
    out.push_back(path.substr(0, slash));
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Specificity rank of a pattern segment: higher is more specific.
int Rank(std::string_view segment) {
  if (segment == "*") return 0;
  if (IsParam(segment)) return 1;
  return 2;
}

// Matches `path` against `pattern` segments; on success fills `params` and `ranks`.
bool MatchSegments(const std::vector<std::string>& pattern,
                   const std::vector<std::string_view>& path,
                   std::map<std::string, std::string>* params, std::vector<int>* ranks) {
  params->clear();
  ranks->clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& seg = pattern[i];
    const bool last = i + 1 == pattern.size();
    if (last && seg == "*") {
      std::string rest;
      for (size_t j = i; j < path.size(); ++j) {
        if (j > i) rest += '/';
        rest.append(path[j]);
      }
      (*params)["*"] = std::move(rest);
      ranks->push_back(Rank(seg));
      return true;
    }
    if (i >= path.size()) return false;
    if (IsParam(seg)) {
      if (path[i].empty()) return false;
      (*params)[seg.substr(1, seg.size() - 2)] = std::string(path[i]);
    } else if (seg != path[i]) {
      return false;
    }
    ranks->push_back(Rank(seg));
  }
  return pattern.size() == path.size();
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

std::optional<std::string_view> HttpRequest::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view HttpRequest::PathParam(const std::string& name) const {
  auto it = path_params.find(name);
  if (it == path_params.end()) return {};
  return it->second;
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route route;
  for (std::string_view seg : SplitPath(pattern)) route.segments.emplace_back(seg);
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  const std::vector<std::string_view> segments = SplitPath(path);
  std::vector<std::string> allowed;
  std::vector<int> best_ranks;
  std::map<std::string, std::string> params;
  std::vector<int> ranks;
  const Route* best = nullptr;
  // RFC 9110 9.3.2: HEAD is GET without the body (the server writes the header only).
  const bool head = method == "HEAD";
  for (const Route& route : routes_) {
    if (!MatchSegments(route.segments, segments, &params, &ranks)) continue;
    if (route.method != method && !(head && route.method == "GET")) {
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
        allowed.push_back(route.method);
      }
      continue;
    }
    if (best == nullptr || ranks > best_ranks) {
      best = &route;
      best_ranks = ranks;
      match.params = params;
    }
  }
  if (best != nullptr) {
    match.handler = &best->handler;
    match.pattern = best->pattern;
    match.status = 200;
    return match;
  }
  match.params.clear();
  if (!allowed.empty()) {
    match.status = 405;
    if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end()) {
      allowed.insert(std::find(allowed.begin(), allowed.end(), "GET") + 1, "HEAD");
    }
    for (const std::string& m : allowed) {
      if (!match.allow.empty()) match.allow += ", ";
      match.allow += m;
    }
  }
  return match;
}

}  // namespace borderflow::net
