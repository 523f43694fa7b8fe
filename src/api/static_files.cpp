#include "static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <borderflow/api/api.h>

namespace borderflow::api {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxFileBytes = 16 << 20;

// The browser may run only what this server sends: no inline script, no other origin.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

bool AllowedRelative(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == ".." || segment.front() == '.') {
      return false;
    }
    for (char c : segment) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

std::string_view ContentTypeFor(std::string_view name) {
  const size_t dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

StaticFiles::StaticFiles(std::string root) {
  if (root.empty()) return;
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  if (!ec && fs::is_regular_file(canonical / "index.html", ec)) root_ = canonical.string();
}

std::string FindWebRoot() {
  std::vector<fs::path> candidates{fs::current_path() / "web" / "dist"};
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // build/<preset>/apps/borderflow/borderflow -> the source tree four levels up.
    fs::path dir = exe.parent_path();
    for (int i = 0; i < 5 && !dir.empty(); ++i, dir = dir.parent_path()) {
      candidates.push_back(dir / "web" / "dist");
    }
  }
  for (const fs::path& candidate : candidates) {
    if (fs::is_regular_file(candidate / "index.html", ec)) return candidate.string();
  }
  return "";
}

std::optional<net::HttpResponse> StaticFiles::Index() const {
  return Serve("index.html", "no-cache");
}

std::optional<net::HttpResponse> StaticFiles::Asset(std::string_view relative) const {
  if (!AllowedRelative(relative)) return std::nullopt;
  return Serve("assets/" + std::string(relative), "public, max-age=31536000, immutable");
}

std::optional<net::HttpResponse> StaticFiles::Serve(const std::string& relative,
                                                    std::string_view cache_control) const {
  if (root_.empty()) return std::nullopt;
  std::error_code ec;
  // canonical() resolves symlinks: a link that leads out of the root is refused.
  fs::path path = fs::canonical(fs::path(root_) / relative, ec);
  if (ec || !fs::is_regular_file(path, ec)) return std::nullopt;
  const std::string resolved = path.string();
  if (resolved.compare(0, root_.size(), root_) != 0 || resolved.size() <= root_.size() ||
      resolved[root_.size()] != '/') {
    return std::nullopt;
  }
  if (fs::file_size(path, ec) > kMaxFileBytes || ec) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream body;
  body << in.rdbuf();
  net::HttpResponse r;
  r.status = 200;
  r.content_type = std::string(ContentTypeFor(resolved));
  r.body = body.str();
  r.headers.emplace_back("Cache-Control", std::string(cache_control));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (relative == "index.html") {
    r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  return r;
}

}  // namespace borderflow::api
