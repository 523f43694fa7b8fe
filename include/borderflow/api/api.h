#pragma once

// The HTTP API (/api/v1), health and metrics endpoints: thin handlers that turn requests into
// engine commands and queries, and engine results and errors into JSON. Errors become RFC 9457
// problem details here and nowhere else.

#include <functional>
#include <memory>
#include <optional>

#include <borderflow/core/json.h>
#include <borderflow/engine/engine.h>
#include <borderflow/net/http.h>
#include <borderflow/net/http_server.h>

namespace borderflow::api {

struct ApiOptions {
  JsonLimits json;                                     // body size and nesting depth
  Duration token_cache_ttl = std::chrono::seconds(5);  // how long a verified token is trusted
  // Requests per second allowed to each user (or, without a token, to each client address),
  // with bursts up to `rate_burst`; beyond it 429 "rate_limited" with Retry-After. 0: no limit.
  double rate_per_second = 200;
  double rate_burst = 2000;
  // The cross-border link, when the node has one: its state for GET /api/v1/link (staff) and
  // its Prometheus lines for /metrics.
  std::function<boost::json::object()> link_status;
  std::function<std::string()> link_metrics;
  // The built web front end (a directory with index.html, served at / and /assets/); empty:
  // none (/ shows the built-in status page, which is always at /status).
  std::string web_root;
  // The live feed (GET /api/v1/feed): how often it reads new audit records when not woken by
  // NotifyCommitted (records written by other server processes arrive this way), and how
  // often an idle stream gets a keep-alive comment.
  std::chrono::milliseconds feed_poll{250};
  std::chrono::milliseconds feed_keepalive{15000};
  // Rule dry runs (POST /api/v1/rules/dry-run) run on their own threads, this many at once,
  // never on the I/O threads; one more is refused with 503 "busy" and Retry-After.
  size_t dry_runs_at_once = 1;
  // Tests: called on the dry-run thread before each dry run (to hold one in flight).
  std::function<void()> dry_run_hook;
};

class Api {
 public:
  // `engine` and `store` must outlive the Api.
  Api(Engine& engine, Store& store, ApiOptions options = {});
  ~Api();

  // Every route of the server.
  net::Router Routes();
  // Problem-details bodies for errors the HTTP server detects itself.
  net::ErrorResponder Errors();
  // Records request metrics (pass to the HttpServer).
  net::RequestObserver Observer();
  // The check of a request from its header alone (net::ServerOptions::admit): a write (POST,
  // PUT, DELETE...) to an API route without an Authorization header is answered 401
  // `authentication_required` before its body is read (and without "100 Continue").
  std::function<std::optional<net::HttpResponse>(const net::HttpRequest&)> Admission();
  // The engine committed changes: the live feed reads them now (call from the engine's commit
  // listener).
  void NotifyCommitted();
  // Stops the live feed's poller and the dry-run threads (after the dry runs in flight have
  // answered), which read the engine and the store: call before either goes away (the rest of
  // the Api may still be used while the engine drains).
  void StopLiveFeed();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The built web front end that `borderflow serve` uses when none is configured: web/dist beside
// the working directory or above the running binary (a build tree); "" when there is none.
std::string FindWebRoot();

// An RFC 9457 problem-details response for `error` ("application/problem+json").
net::HttpResponse ProblemResponse(const Error& error, std::string_view instance = {});
// The same with an explicit status (for statuses no ErrorKind maps to, such as 405 or 431).
net::HttpResponse ProblemResponse(int status, const Error& error, std::string_view instance = {});

}  // namespace borderflow::api
