#pragma once

// Serves the built web front end (web/dist) from a directory: GET / gives index.html, and
// GET /assets/<path> the bundled files. Paths are confined to the directory (no "..", no
// absolute paths, no symlinks out of it); files are read per request, so a rebuilt front end
// is served without a restart.

#include <optional>
#include <string>
#include <string_view>

#include <borderflow/net/http.h>

namespace borderflow::api {

class StaticFiles {
 public:
  // `root`: the directory with index.html. Empty: no front end.
  explicit StaticFiles(std::string root);

  bool enabled() const { return !root_.empty(); }
  const std::string& root() const { return root_; }

  // index.html, not cached by the browser (it names the hashed assets of the current build).
  std::optional<net::HttpResponse> Index() const;
  // A file directly under root/assets (vite's output is flat there); long-lived caching (vite
  // puts a content hash in each name).
  // nullopt when there is no such file or the path is not allowed.
  std::optional<net::HttpResponse> Asset(std::string_view relative) const;

 private:
  std::optional<net::HttpResponse> Serve(const std::string& relative,
                                         std::string_view cache_control) const;
  std::string root_;
};

// Content type for a file name by its extension ("application/octet-stream" when unknown).
std::string_view ContentTypeFor(std::string_view name);

}  // namespace borderflow::api
