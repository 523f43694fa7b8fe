#pragma once

// Prometheus metrics of the API and the engine, rendered in the text exposition format for
// GET /metrics (prometheus-cpp core only; served by our own route).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <borderflow/engine/engine.h>

namespace borderflow::api {

class ApiMetrics {
 public:
  ApiMetrics();
  ~ApiMetrics();
  // Thread-safe.
  void ObserveRequest(std::string_view route, std::string_view method, int status,
                      std::chrono::nanoseconds elapsed);
  // The exposition text, with the engine's counters sampled now.
  std::string Render(const EngineStats& engine, const Engine::PredictionAccuracy& predictions);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace borderflow::api
